import { httpHandler } from '@svc/platform';
import { callerId, callerSession, listTransactions, Visits, visitsRuntime } from '@svc/visits';

// Token only: the list is read beside the caller's account check (Visits.asCaller).
const { authenticateToken } = visitsRuntime();

export const handler = httpHandler(
  listTransactions,
  async ({ principal, query }) => {
    const caller = callerId(principal);
    return {
      status: 200,
      body: await Visits.asCaller(callerSession(principal), () => Visits.listTransactions(caller, query)),
    };
  },
  { authenticate: authenticateToken },
);
