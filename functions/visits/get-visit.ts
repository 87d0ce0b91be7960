import { httpHandler } from '@svc/platform';
import { getVisit, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  getVisit,
  async ({ path }) => ({ status: 200, body: { data: await Visits.getVisit(path.id) } }),
  { authenticate },
);
