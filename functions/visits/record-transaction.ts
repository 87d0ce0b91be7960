import { httpHandler } from '@svc/platform';
import { callerId, recordTransaction, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

/** Alias route of complete-visit: same operation, same answer. */
export const handler = httpHandler(
  recordTransaction,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.completeVisit(callerId(principal), path.id) },
  }),
  { authenticate },
);
