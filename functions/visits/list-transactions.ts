import { httpHandler } from '@svc/platform';
import { callerId, listTransactions, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  listTransactions,
  async ({ principal, query }) => ({
    status: 200,
    body: await Visits.listTransactions(callerId(principal), query),
  }),
  { authenticate },
);
