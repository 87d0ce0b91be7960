import { httpHandler } from '@svc/platform';
import { listReports, Reports } from '@svc/tasks';

export const handler = httpHandler(listReports, async ({ query }) => ({
  status: 200,
  body: await Reports.listReports(query),
}));
