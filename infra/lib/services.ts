import { assistanceService } from '@svc/assistance/routes';
import type { ServiceDefinition } from '@svc/platform/routes';
import { statsService } from '@svc/stats/routes';
import { tasksService } from '@svc/tasks/routes';
import { visitsService } from '@svc/visits/routes';

/** Every service the stack deploys, one line each. A service that sends to another's queue comes after it. */
export const services: readonly ServiceDefinition[] = [statsService, visitsService, tasksService, assistanceService];
