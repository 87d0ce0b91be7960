import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalQueue, type LocalQueue, localSqsClient } from './queues.js';
import { LOCAL_TIME_FACTOR, type SqsClock, scaleSeconds, startSqsClock } from './sqs-clock.js';
import { type RunningSqs, startLocalSqs } from './sqs-server.js';

let server: RunningSqs;
let clock: SqsClock;
/** What functions and tests use: AWS seconds in, local seconds applied. */
let viaClock: SQSClient;
let queue: LocalQueue;

beforeAll(async () => {
  server = await startLocalSqs();
  clock = await startSqsClock(server.endpoint, LOCAL_TIME_FACTOR);
  viaClock = localSqsClient(clock.endpoint);
  queue = await createLocalQueue(viaClock, clock.endpoint, 'clock-test', 'timed', {
    // Queue attributes are already local seconds (the runtime scales them when it creates the queue).
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 10,
  });
});

afterAll(async () => {
  viaClock.destroy();
  await clock.stop();
  await server.stop();
});

const receive = async (waitSeconds = 0) => {
  const { Messages = [] } = await viaClock.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: waitSeconds,
      AttributeNames: ['All'],
    }),
  );
  return Messages[0];
};

/** Milliseconds until the message is receivable again (polling every 50 ms). */
async function hiddenFor(limitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await receive()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Number.POSITIVE_INFINITY;
}

describe('local queue clock', () => {
  it('scales AWS seconds by the local factor (1/30: 60 s is 2 s) with millisecond precision', () => {
    expect(scaleSeconds(60, LOCAL_TIME_FACTOR)).toBe(2);
    expect(scaleSeconds(1, LOCAL_TIME_FACTOR)).toBe(0.033);
    expect(scaleSeconds(900, LOCAL_TIME_FACTOR)).toBe(30);
  });

  it('applies it to DelaySeconds and to a consumer visibility change, keeping their ratio, and notes the change', async () => {
    await viaClock.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{}', DelaySeconds: 30 }));
    // 30 AWS seconds of delay: about 1 s locally, not 30 and not 0.
    const delayed = await hiddenFor(10_000);
    expect(delayed).toBeGreaterThanOrEqual(700);
    expect(delayed).toBeLessThan(3000);

    // That receive hid it for the queue's 1 s; a consumer now asks for 90 s = 3 s.
    await new Promise((r) => setTimeout(r, 1200));
    const message = await receive(2);
    expect(message).toBeDefined();
    const handle = message?.ReceiptHandle ?? '';
    await viaClock.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: handle,
        VisibilityTimeout: 90,
      }),
    );
    expect(clock.takeConsumerChange(handle)).toBe(true);
    expect(clock.takeConsumerChange(handle)).toBe(false);
    const postponed = await hiddenFor(10_000);
    expect(postponed).toBeGreaterThanOrEqual(2600);
    expect(postponed).toBeLessThan(5500);
  }, 30_000);
});
