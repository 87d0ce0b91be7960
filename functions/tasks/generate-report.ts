import { logger } from '@svc/platform';
import { sqsConsumer } from '@svc/platform/queues';
import { type ReportStore, Reports, s3ReportStore } from '@svc/tasks';

let store: ReportStore | undefined;

/** One report per message; a failed record is retried by SQS (partial batch failure), then the DLQ. */
export const handler = sqsConsumer(async (record) => {
  const job = Reports.parseReportJob(record.body);
  if (!job) {
    // A malformed message can never succeed: log it and let it go rather than poison the queue.
    logger.error('dropping malformed report message', { messageId: record.messageId });
    return;
  }
  store ??= s3ReportStore();
  const outcome = await Reports.generateReport(job, { store });
  logger.info('report', { ...job, outcome });
});
