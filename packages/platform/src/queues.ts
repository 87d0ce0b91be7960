import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from './logger.js';
import { flushMetrics } from './metrics.js';
import { annotateRequestId, traceClient, traced } from './tracing.js';

let sqs: SQSClient | undefined;

/** One SQS client per container. */
export function sqsClient(): SQSClient {
  sqs ??= traceClient(new SQSClient({ maxAttempts: 3 }));
  return sqs;
}

/** Sends one JSON message. Errors propagate: the caller decides whether that is a 503 or a retry. */
export async function sendJson(queueUrl: string, body: unknown, options: { delaySeconds?: number } = {}) {
  await sqsClient().send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      ...(options.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
    }),
  );
}

/** SQS allows at most 12 hours of visibility. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Keeps a failed record invisible for `seconds` (a Retry-After, a backoff) instead of the queue's
 * visibility timeout. Best effort: if it fails, the record still comes back after that timeout.
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

/** Exponential backoff for the `receiveCount`-th failed delivery: base, 2 × base, 4 × base, … capped. */
export function backoffSeconds(baseSeconds: number, receiveCount: number, capSeconds = 900): number {
  return Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
}

/**
 * The backoff with "equal jitter": a random delay between half and all of `backoffSeconds`, so the records
 * that failed together (a provider or receiver outage) do not all come back in the same second.
 */
export function jitteredBackoffSeconds(
  baseSeconds: number,
  receiveCount: number,
  random: () => number = Math.random,
  capSeconds = 900,
): number {
  const full = backoffSeconds(baseSeconds, receiveCount, capSeconds);
  return Math.ceil(full / 2 + (random() * full) / 2);
}

/** How many times SQS has handed this record out (1 on the first delivery). */
export function receiveCount(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount ?? '1') || 1;
}

/**
 * An SQS consumer that reports partial batch failures (Powertools batch): a record whose handler throws
 * is returned in `batchItemFailures` and comes back after the visibility timeout; the rest are deleted.
 * Needs ReportBatchItemFailures on the event source mapping (the CDK construct sets it). Metrics the records
 * recorded are written once per invocation.
 */
export function sqsConsumer(recordHandler: (record: SQSRecord, context: Context) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    traced(context.functionName ?? 'consumer', () => {
      annotateRequestId(context.awsRequestId);
      return processPartialResponse(event, (record: SQSRecord) => recordHandler(record, context), processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    })
      .catch((error: unknown) => {
        logger.error('batch processing failed', { error: error as Error });
        throw error;
      })
      // What the batch's records recorded goes out once, whatever happened to them.
      .finally(flushMetrics);
}
