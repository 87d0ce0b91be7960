import { httpHandler } from '@svc/platform';
import { getUserReport, Reports } from '@svc/tasks';

/** Bounded: a document larger than a response may carry is a 422 naming the limit (SPEC §2). */
export const handler = httpHandler(getUserReport, async ({ path, query }) => ({
  status: 200,
  body: await Reports.buildReport(
    path.userId,
    { start: query.from, end: query.to },
    { maxBytes: Reports.INLINE_REPORT_BYTES },
  ),
}));
