import { logger } from '@svc/platform';
import { sqsConsumer } from '@svc/platform/queues';
import { type ReportQueue, type ReportStore, Reports, s3ReportStore, sqsReportQueue } from '@svc/tasks';
import { retentionConfig } from '@svc/tasks/config';

let store: ReportStore | undefined;
let queue: ReportQueue | undefined;

/** The shard job of the planner left in place while another delivery holds it: SQS retries it later. */
class ShardBusy extends Error {}

/**
 * The report queue carries two kinds of message: one user's report for a window (build, store in S3,
 * index), and a planner shard job (enqueue the reports of one shard's candidates; when out of time it
 * saves its checkpoint and enqueues itself again). A failed record is retried by SQS (partial batch
 * failure), then the DLQ; both kinds are safe to replay.
 */
export const handler = sqsConsumer(async (record, context) => {
  const message = Reports.parseMessage(record.body);
  if (!message) {
    // A malformed message can never succeed: log it and let it go rather than poison the queue.
    logger.error('dropping malformed report message', { messageId: record.messageId });
    return;
  }
  const { REPORT_RETENTION_DAYS: retentionDays } = retentionConfig();
  if ('kind' in message) {
    queue ??= sqsReportQueue();
    const outcome = await Reports.planShard(message, {
      queue,
      retentionDays,
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    logger.info('report shard', { ...message, ...outcome });
    if (outcome.status === 'paused') await queue.enqueue([message]);
    if (outcome.status === 'busy') throw new ShardBusy('another delivery is planning this shard');
    return;
  }
  store ??= s3ReportStore();
  const outcome = await Reports.generateReport(message, { store, retentionDays });
  logger.info('report', { ...message, outcome });
});
