import { httpHandler } from '@svc/platform';
import { callerSession, getVisit, Visits, visitsRuntime } from '@svc/visits';

// Token only: the operation's first read checks the caller's account along with the visit.
const { authenticateToken } = visitsRuntime();

export const handler = httpHandler(
  getVisit,
  async ({ principal, path }) => ({
    status: 200,
    body: { data: await Visits.getVisitAs(callerSession(principal), path.id) },
  }),
  { authenticate: authenticateToken },
);
