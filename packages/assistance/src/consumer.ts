import { logger } from '@svc/platform';
import { postponeRecord, receiveCount, sqsConsumer } from '@svc/platform/queues';
import type { SQSRecord } from 'aws-lambda';
import * as v from 'valibot';
import type { ChannelSender, ChannelType } from './channels/index.js';
import type { DeliveryConfig } from './config.js';
import { deliver } from './delivery.js';
import { sqsEnqueue } from './queues.js';
import { DeliveryMessage } from './schemas.js';

/** Thrown for a record that should come back later; Powertools reports it as a batch item failure. */
export class DeliverLater extends Error {
  constructor(reason: string) {
    super(`delivery will be retried: ${reason}`);
    this.name = 'DeliverLater';
  }
}

function messageOf(record: SQSRecord): DeliveryMessage | undefined {
  try {
    const parsed = v.safeParse(DeliveryMessage, JSON.parse(record.body));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The SQS handler of one channel's Lambda: each record is one request id; failures are reported per
 * record (partial batch response), and a Retry-After keeps the record invisible at least that long.
 */
export function channelConsumer<S>(
  channel: ChannelType<S>,
  sender: ChannelSender<S>,
  config: DeliveryConfig,
) {
  const enqueue = sqsEnqueue(config.queueUrls);
  return sqsConsumer(async (record, context) => {
    const message = messageOf(record);
    if (!message) {
      // Retrying cannot fix it, but the DLQ keeps it for a human (and its alarm calls one).
      logger.error('malformed delivery message', { sqs_message_id: record.messageId });
      throw new Error('malformed delivery message');
    }
    const result = await deliver(
      {
        channel: channel.type,
        sender: sender as ChannelSender<unknown>,
        enqueue,
        maxReceiveCount: config.maxReceiveCount,
      },
      {
        requestId: message.requestId,
        receiveCount: receiveCount(record),
        remainingMs: context.getRemainingTimeInMillis(),
      },
    );
    if (result.kind === 'retry') {
      if (result.afterSeconds !== undefined) {
        await postponeRecord(config.queueUrls[channel.type], record, result.afterSeconds);
      }
      throw new DeliverLater(result.reason);
    }
  });
}
