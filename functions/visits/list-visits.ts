import { httpHandler } from '@svc/platform';
import { callerSession, listVisits, Visits, visitsRuntime } from '@svc/visits';

// Token only: the list is read beside the caller's account check (Visits.asCaller).
const { authenticateToken } = visitsRuntime();

export const handler = httpHandler(
  listVisits,
  async ({ principal, query }) => ({
    status: 200,
    body: await Visits.asCaller(callerSession(principal), () => Visits.listVisits(query)),
  }),
  { authenticate: authenticateToken },
);
