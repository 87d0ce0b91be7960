import { httpHandler } from '@svc/platform';
import { callerSession, recordTransaction, Visits, visitsRuntime } from '@svc/visits';

// Token only: the operation's first read checks the caller's account along with the visit.
const { authenticateToken } = visitsRuntime();

/** Alias route of complete-visit: same operation, same answer. */
export const handler = httpHandler(
  recordTransaction,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.completeVisit(callerSession(principal), path.id) },
  }),
  { authenticate: authenticateToken },
);
