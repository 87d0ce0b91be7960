import { httpHandler } from '@svc/platform';
import { callerId, completeVisit, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  completeVisit,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.completeVisit(callerId(principal), path.id) },
  }),
  { authenticate },
);
