import { httpHandler } from '@svc/platform';
import { listVisits, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  listVisits,
  async ({ query }) => ({ status: 200, body: await Visits.listVisits(query) }),
  { authenticate },
);
