import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { logger } from '@svc/platform';
import { sendJson, sqsClient } from '@svc/platform/queues';
import type { SQSRecord } from 'aws-lambda';
import type { DeliveryMessage } from './schemas.js';

/** Port: hands a request to a channel's queue. */
export type Enqueue = (message: DeliveryMessage) => Promise<void>;

export function sqsEnqueue(queueUrls: Record<string, string>): Enqueue {
  return async (message) => {
    const url = queueUrls[message.channel];
    if (!url) throw new Error(`no queue for channel ${message.channel}`);
    await sendJson(url, message);
  };
}

/** SQS allows at most 12 hours of visibility. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Keeps a failed record invisible for `seconds` (e.g. a Retry-After) instead of the queue's default.
 * Best effort: if it fails, the record still comes back after the default visibility timeout.
 */
export async function postponeRecord(queueUrl: string | undefined, record: SQSRecord, seconds: number) {
  if (!queueUrl) return;
  try {
    await sqsClient().send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))),
      }),
    );
  } catch (error) {
    logger.warn('could not postpone the message', { error: error as Error, messageId: record.messageId });
  }
}
