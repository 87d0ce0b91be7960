import { loadStatusCallbackConfig } from '@svc/dispatch/config';
import { parseStatusCallbackJob } from '@svc/dispatch/queue';
import { syncStatusCallbacks } from '@svc/dispatch/status-callbacks';
import { statusCallbackDeps } from '@svc/dispatch/status-callbacks-setup';
import { logger } from '@svc/platform';
import { jitteredBackoffSeconds, postponeRecord, receiveCount, sqsConsumer } from '@svc/platform/queues';

const config = loadStatusCallbackConfig();
const deps = statusCallbackDeps(config);

/** SQS consumer of dispatch-status-callbacks: one record syncs one message's callbacks to its receiver. */
export const handler = sqsConsumer(async (record, context) => {
  const job = parseStatusCallbackJob(record.body);
  if (!job) {
    logger.error('unreadable dispatch-status-callbacks record', { sqs_message_id: record.messageId });
    throw new Error('unreadable dispatch-status-callbacks record');
  }
  const count = receiveCount(record);
  // The lease outlasts this invocation, so a slow (not dead) sync is never joined by a second one.
  const leaseMs = Math.max(deps.leaseMs, context.getRemainingTimeInMillis() + 10_000);
  const outcome = await syncStatusCallbacks(job, count, { ...deps, leaseMs });
  if (outcome !== 'retry' && outcome !== 'gave-up') return;
  // A failing receiver: wait longer before each attempt (15-30 s, 30-60 s, 60-120 s, … in AWS).
  if (outcome === 'retry' && config.backoff)
    await postponeRecord(
      config.backoff.queueUrl,
      record,
      jitteredBackoffSeconds(config.backoff.baseSeconds, count),
    );
  throw new Error(`status callbacks of ${job.id}: ${outcome}`);
});
