import { httpHandler } from '@svc/platform';
import { getReport, type ReportStore, Reports, s3ReportStore } from '@svc/tasks';

let store: ReportStore | undefined;

export const handler = httpHandler(getReport, async ({ path }) => {
  store ??= s3ReportStore();
  return { status: 200, body: await Reports.getReport(path.id, store) };
});
