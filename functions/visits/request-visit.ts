import { httpHandler } from '@svc/platform';
import { callerId, requestVisit, Visits, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  requestVisit,
  async ({ principal, body }) => ({
    status: 201,
    body: { data: await Visits.requestVisit(callerId(principal), body) },
  }),
  { authenticate },
);
