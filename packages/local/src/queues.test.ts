import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalQueue, type LocalQueue, localSqsClient, queueCounts } from './queues.js';
import { type RunningSqs, startLocalSqs } from './sqs-server.js';

let server: RunningSqs;
let sqs: SQSClient;
let queue: LocalQueue;

beforeAll(async () => {
  server = await startLocalSqs();
  sqs = localSqsClient(server.endpoint);
  queue = await createLocalQueue(sqs, server.endpoint, 'queues-test', 'attempts', {
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 3,
  });
});

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

const receiveOne = async () => {
  for (let i = 0; i < 20; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 30,
        AttributeNames: ['All'],
      }),
    );
    if (Messages[0]) return Messages[0];
  }
  return undefined;
};

describe('local SQS receive counting', () => {
  it('counts receives only, so a record retried the way the poller retries it gets all its attempts', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"n":1}' }));
    const counts: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const message = await receiveOne();
      if (!message) break;
      counts.push(message.Attributes?.ApproximateReceiveCount ?? '?');
      // A failed record: the consumer asks for a later retry (Retry-After), then the poller sets the
      // local retry delay; neither is a receive.
      for (const seconds of [5, 0]) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queue.url,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      }
    }
    expect(counts).toEqual(['1', '2', '3']);
    // After its third receive it goes to the DLQ, as maxReceiveCount 3 says.
    let settled = await queueCounts(sqs, queue);
    for (let i = 0; i < 50 && settled.dlq === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      settled = await queueCounts(sqs, queue);
    }
    expect(settled).toEqual({ visible: 0, in_flight: 0, dlq: 1 });
  });
});
