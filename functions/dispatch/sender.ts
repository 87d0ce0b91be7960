import { loadSenderConfig } from '@svc/dispatch/config';
import { parseSendJob } from '@svc/dispatch/queue';
import { processSendJob, RETRY_OUTCOMES } from '@svc/dispatch/sender';
import { invocationLeaseMs, senderDeps } from '@svc/dispatch/sender-setup';
import { logger } from '@svc/platform';
import { receiveCount, sqsConsumer } from '@svc/platform/queues';

const deps = senderDeps(loadSenderConfig());

/** SQS consumer of dispatch-send: a record reported failed comes back later, or goes to the DLQ. */
export const handler = sqsConsumer(async (record, context) => {
  const job = parseSendJob(record.body);
  if (!job) {
    // Retrying cannot fix it, but the DLQ keeps it for a human (and its alarm calls one).
    logger.error('unreadable dispatch-send record', { sqs_message_id: record.messageId });
    throw new Error('unreadable dispatch-send record');
  }
  const leaseMs = invocationLeaseMs(deps.leaseMs, context.getRemainingTimeInMillis());
  const outcome = await processSendJob(job, receiveCount(record), { ...deps, leaseMs });
  if (RETRY_OUTCOMES.has(outcome)) throw new Error(`send ${job.id}: ${outcome}`);
});
