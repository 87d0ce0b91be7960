import { httpHandler } from '@svc/platform';
import { getReport, type ReportStore, Reports, s3ReportStore } from '@svc/tasks';

let store: ReportStore | undefined;

/** The document, or 303 to a presigned S3 URL when it is too large for a Lambda response (SPEC §2). */
export const handler = httpHandler(getReport, async ({ path }) => {
  store ??= s3ReportStore();
  const served = await Reports.getReport(path.id, store);
  if ('location' in served) return { status: 303, headers: { location: served.location } };
  return { status: 200, body: served.document };
});
