import { assistanceService } from '@svc/assistance/routes';
import { dispatchService } from '@svc/dispatch/routes';
import { apiService } from '@svc/platform/api-service';
import type { ServiceDefinition } from '@svc/platform/routes';
import { statsService } from '@svc/stats/routes';
import { tasksService } from '@svc/tasks/routes';
import { visitsService } from '@svc/visits/routes';

/**
 * Every service, one line each: the CDK app deploys this list and the local runtime serves it.
 * A service that sends to another's queue comes after it.
 */
export const services: readonly ServiceDefinition[] = [
  statsService,
  visitsService,
  tasksService,
  assistanceService,
  dispatchService,
  // The API's $default route (unknown paths and methods), owned by no service.
  apiService,
];
