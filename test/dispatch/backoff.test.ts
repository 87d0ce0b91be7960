import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createLocalQueue, type LocalQueue, localSqsClient, sqsEvent } from '@svc/local/queues';
import { type RunningSqs, startLocalSqs } from '@svc/local/sqs-server';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../support/api-event.js';
import { queuedMessage, startProviderServer } from './support.js';

/**
 * In AWS the sender backs off between attempts when every provider failed (SPEC §5 "retried with
 * backoff"): it postpones the record itself, 30 s, 60 s, 120 s, … The queue here is a real local SQS
 * whose own visibility timeout (1 s) would bring the record back at once without the backoff.
 */
const SECRET_PARAMETER = '/svc/test/dispatch-callback-secret';
const ssm = mockClient(SSMClient);
let server: RunningSqs;
let sqs: SQSClient;
let queue: LocalQueue;
let providers: Awaited<ReturnType<typeof startProviderServer>>;
let sender: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  server = await startLocalSqs();
  sqs = localSqsClient(server.endpoint);
  queue = await createLocalQueue(sqs, server.endpoint, 'backoff-test', 'dispatch-send', {
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 5,
  });
  providers = await startProviderServer();
  providers.modes.provider1 = 'down';
  providers.modes.provider2 = 'down';
  ssm.on(GetParameterCommand, { Name: SECRET_PARAMETER }).resolves({
    Parameter: { Name: SECRET_PARAMETER, Type: 'SecureString', Value: 'secret', Version: 1 },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: server.endpoint,
    PARAM_DISPATCH_CALLBACK_SECRET: SECRET_PARAMETER,
    QUEUE_URL_DISPATCH_STATUS_CALLBACKS: 'http://sqs.test/000000000000/svc-test-dispatch-status-callbacks',
    PROVIDER1_URL: `${providers.url}/provider1/sms`,
    PROVIDER2_URL: `${providers.url}/provider2/sms`,
    PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
    PROVIDER_TIMEOUT_MS: '500',
    CALLBACK_BASE_URL: 'https://api.dispatch.test',
    SQS_MAX_RECEIVE_COUNT: '5',
    SQS_QUEUE_URL: queue.url,
    SQS_RETRY_BACKOFF_SECONDS: '3',
    BREAKER_FAILURE_THRESHOLD: '1000',
  });
  sender = (await import('../../functions/dispatch/sender.js')).handler;
});

afterAll(async () => {
  ssm.restore();
  sqs.destroy();
  await providers.stop();
  await server.stop();
});

const receive = async (waitSeconds: number) =>
  (
    await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: 1,
        AttributeNames: ['All'],
      }),
    )
  ).Messages ?? [];

describe('sender backoff', () => {
  it('keeps a send that every provider refused away for the backoff, then hands it out again', async () => {
    const { job } = await queuedMessage('back off');
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(job) }));
    const first = await receive(2);
    expect(first).toHaveLength(1);
    const result = await sender(sqsEvent(queue, first), lambdaContext('DispatchSender'));
    expect(result.batchItemFailures).toHaveLength(1);

    // The queue alone would show it again after 1 s; the backoff (3 s on the first failure) holds it.
    await new Promise((r) => setTimeout(r, 1_800));
    expect(await receive(0)).toHaveLength(0);
    const again = await receive(5);
    expect(again.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['2']);
  });
});
