import { httpHandler } from '@svc/platform';
import { callerSession, cancelVisit, Visits, visitsRuntime } from '@svc/visits';

// Token only: the operation's first read checks the caller's account along with the visit.
const { authenticateToken } = visitsRuntime();

export const handler = httpHandler(
  cancelVisit,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.cancelVisit(callerSession(principal), path.id) },
  }),
  { authenticate: authenticateToken },
);
