import { httpHandler } from '@svc/platform';
import { getUserReport, Reports } from '@svc/tasks';

export const handler = httpHandler(getUserReport, async ({ path, query }) => ({
  status: 200,
  body: await Reports.buildReport(path.userId, { start: query.from, end: query.to }),
}));
