import { httpHandler } from '@svc/platform';
import { callerId, cancelVisit, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  cancelVisit,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.cancelVisit(callerId(principal), path.id) },
  }),
  { authenticate },
);
