import { httpHandler } from '@svc/platform';
import { callerSession, completeVisit, Visits, visitsRuntime } from '@svc/visits';

// Token only: the operation's first read checks the caller's account along with the visit.
const { authenticateToken } = visitsRuntime();

export const handler = httpHandler(
  completeVisit,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.completeVisit(callerSession(principal), path.id) },
  }),
  { authenticate: authenticateToken },
);
