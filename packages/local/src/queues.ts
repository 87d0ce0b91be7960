import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb.js';
import { LOCAL_ACCOUNT_ID, localDeadLetterQueueUrl, localQueueUrl } from './environment.js';

export interface LocalQueue {
  /** Logical name, e.g. `dispatch-send`. */
  name: string;
  url: string;
  dlqUrl: string;
  arn: string;
  maxReceiveCount: number;
}

export interface QueueCounts {
  visible: number;
  in_flight: number;
  dlq: number;
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/** Creates a queue and its DLQ with the redrive policy the CDK app sets, and the local visibility timeout. */
export async function createLocalQueue(
  sqs: SQSClient,
  endpoint: string,
  stage: string,
  name: string,
  settings: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<LocalQueue> {
  const url = localQueueUrl(endpoint, stage, name);
  const dlqUrl = localDeadLetterQueueUrl(endpoint, stage, name);
  const physicalName = (queueUrl: string) => queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
  const arnOf = (queueUrl: string) =>
    `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${physicalName(queueUrl)}`;
  await sqs.send(
    new CreateQueueCommand({
      QueueName: physicalName(dlqUrl),
      Attributes: { MessageRetentionPeriod: '1209600' },
    }),
  );
  await sqs.send(
    new CreateQueueCommand({
      QueueName: physicalName(url),
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arnOf(dlqUrl),
          maxReceiveCount: String(settings.maxReceiveCount),
        }),
      },
    }),
  );
  return { name, url, dlqUrl, arn: arnOf(url), maxReceiveCount: settings.maxReceiveCount };
}

export async function queueCounts(sqs: SQSClient, queue: LocalQueue): Promise<QueueCounts> {
  const count = async (url: string) => {
    const { Attributes: a = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  };
  const [source, dlq] = await Promise.all([count(queue.url), count(queue.dlqUrl)]);
  return { visible: source.visible, in_flight: source.inFlight, dlq: dlq.visible + dlq.inFlight };
}

/** Moves every message in the DLQ back to its source queue (what "Start DLQ redrive" does in AWS). */
/**
 * Moves a queue's DLQ back to it with StartMessageMoveTask — the API behind the console's "Start DLQ
 * redrive" — and waits for the task to finish. Resolves to the number of messages moved.
 */
export async function redrive(sqs: SQSClient, queue: LocalQueue, timeoutMs = 30_000): Promise<number> {
  const dlqArn = queue.arn.replace(/[^:]+$/, (name) => `${name}-dlq`);
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  if (Number(Attributes.ApproximateNumberOfMessages ?? 0) === 0) return 0;
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: queue.arn }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Results = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 1 }),
    );
    const task = Results[0];
    if (task && task.Status !== 'RUNNING') {
      if (task.Status !== 'COMPLETED')
        throw new Error(`redrive of ${queue.name} ended ${task.Status}: ${task.FailureReason}`);
      return task.ApproximateNumberOfMessagesMoved ?? 0;
    }
    if (Date.now() > deadline) throw new Error(`redrive of ${queue.name} did not finish in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The SQS event Lambda's event source mapping builds from received messages. */
export function sqsEvent(queue: LocalQueue, messages: readonly Message[]): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.MessageId ?? randomUUID(),
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: m.Attributes?.SenderId ?? LOCAL_ACCOUNT_ID,
          ApproximateFirstReceiveTimestamp:
            m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
            k,
            {
              dataType: v.DataType ?? 'String',
              ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
              ...(v.BinaryValue !== undefined
                ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') }
                : {}),
            },
          ]),
        ),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: LOCAL_REGION,
      }),
    ),
  };
}

/**
 * Which records failed, by Lambda's rules for ReportBatchItemFailures: an error fails the whole batch,
 * as does a response Lambda cannot read (`batchItemFailures` that is not a list) or a failure naming a
 * message that was not in it. No response, or an empty list, means every record succeeded.
 */
export function failedMessageIds(
  event: SQSEvent,
  outcome: { result?: unknown; error?: unknown },
): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  if (outcome.error !== undefined) return all;
  const response = outcome.result as Partial<SQSBatchResponse> | undefined | null;
  const failures: unknown = response?.batchItemFailures ?? [];
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const failure of failures as Array<Partial<SQSBatchResponse['batchItemFailures'][number]> | null>) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

export interface QueuePoller {
  stop(): Promise<void>;
}

/** Concurrent batches per queue, like the minimum concurrency of Lambda's SQS event source. */
export const POLLERS_PER_QUEUE = 5;

/**
 * An event source mapping: long-polls the queue, invokes the consumer with the batch, deletes what
 * succeeded and leaves the failures to come back when their visibility timeout ends; SQS itself moves
 * a message to the DLQ once it has been received maxReceiveCount times.
 *
 * Functions run in real time while queue time is scaled (sqs-clock.ts), so the poller hides a batch
 * for the function's whole timeout while it runs (in AWS the queue's own timeout, 6 × the function's,
 * does that). When the batch is done, a failed record the consumer did not postpone itself comes back
 * `visibilitySeconds` (local seconds) after it was received, as it would after the queue's timeout in
 * AWS; one the consumer postponed (Retry-After, backoff) keeps the consumer's delay.
 */
export function pollQueue(
  sqs: SQSClient,
  queue: LocalQueue,
  consumer: {
    batchSize: number;
    /** The function's timeout: how long a batch stays hidden while the consumer runs. */
    timeoutSeconds: number;
    /** The queue's visibility timeout in local seconds. */
    visibilitySeconds: number;
    /** Whether the consumer changed this receipt's visibility itself (and forgets the note). */
    consumerChanged(receiptHandle: string): boolean;
    invoke(event: SQSEvent): Promise<unknown>;
    onError(error: unknown): void;
  },
): QueuePoller {
  let running = true;
  const abort = new AbortController();
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Lambda's SQS event source polls with several concurrent batches (five at least); so do we.
  const poll = async () => {
    while (running) {
      try {
        await pollOnce();
      } catch (error) {
        // Whatever went wrong with one batch, the mapping keeps polling (and never crashes the runtime).
        if (!running) return;
        consumer.onError(error);
        await pause(500);
      }
    }
  };
  const pollOnce = async () => {
    let messages: Message[] = [];
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: Math.min(10, consumer.batchSize),
          WaitTimeSeconds: 1,
          VisibilityTimeout: consumer.timeoutSeconds + 5,
          MessageSystemAttributeNames: ['All'],
          // local-aws-sqs reads only the legacy field for ApproximateReceiveCount and friends.
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      messages = received.Messages ?? [];
    } catch (error) {
      if (!running) return;
      consumer.onError(error);
      await pause(500);
      return;
    }
    if (messages.length === 0) return;
    const receivedAt = Date.now();
    const event = sqsEvent(queue, messages);
    const outcome = await consumer.invoke(event).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) consumer.onError(outcome.error);
    const failed = failedMessageIds(event, outcome);
    const handles = event.Records.map((r) => ({ id: r.messageId, handle: r.receiptHandle }));
    const succeeded = handles.filter((h) => !failed.has(h.id));
    // consumerChanged also forgets the note, so it is asked about every record once.
    const retried = handles.filter((h) => !consumer.consumerChanged(h.handle) && failed.has(h.id));
    const remaining = Math.max(0, consumer.visibilitySeconds - (Date.now() - receivedAt) / 1000);
    try {
      if (succeeded.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: succeeded.map((h, i) => ({ Id: String(i), ReceiptHandle: h.handle })),
          }),
        );
      if (retried.length > 0)
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queue.url,
            Entries: retried.map((h, i) => ({
              Id: String(i),
              ReceiptHandle: h.handle,
              // local-aws-sqs keeps milliseconds.
              VisibilityTimeout: Math.round(remaining * 1000) / 1000,
            })),
          }),
        );
    } catch (error) {
      if (running) consumer.onError(error);
    }
  };
  const loops = Array.from({ length: POLLERS_PER_QUEUE }, () => poll());
  return {
    async stop() {
      running = false;
      abort.abort();
      await Promise.all(loops.map((loop) => loop.catch(() => undefined)));
    },
  };
}
