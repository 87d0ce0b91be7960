import { loadSenderConfig } from '@svc/dispatch/config';
import { parseSendJob } from '@svc/dispatch/queue';
import { processSendJob, RETRY_OUTCOMES } from '@svc/dispatch/sender';
import { invocationLeaseMs, senderDeps } from '@svc/dispatch/sender-setup';
import { logger } from '@svc/platform';
import { jitteredBackoffSeconds, postponeRecord, receiveCount, sqsConsumer } from '@svc/platform/queues';

const config = loadSenderConfig();
const deps = senderDeps(config);

/** SQS consumer of dispatch-send: a record reported failed comes back later, or goes to the DLQ. */
export const handler = sqsConsumer(async (record, context) => {
  const job = parseSendJob(record.body);
  if (!job) {
    // Retrying cannot fix it, but the DLQ keeps it for a human (and its alarm calls one).
    logger.error('unreadable dispatch-send record', { sqs_message_id: record.messageId });
    throw new Error('unreadable dispatch-send record');
  }
  const leaseMs = invocationLeaseMs(deps.leaseMs, context.getRemainingTimeInMillis());
  const count = receiveCount(record);
  const outcome = await processSendJob(job, count, { ...deps, leaseMs });
  if (!RETRY_OUTCOMES.has(outcome)) return;
  // Every provider failed: wait longer before each new attempt (15-30 s, 30-60 s, 60-120 s, … in AWS),
  // jittered so the sends an outage failed together do not all come back in the same second.
  if (outcome === 'retry' && config.backoff)
    await postponeRecord(
      config.backoff.queueUrl,
      record,
      jitteredBackoffSeconds(config.backoff.baseSeconds, count),
    );
  throw new Error(`send ${job.id}: ${outcome}`);
});
