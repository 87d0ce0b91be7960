import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { getRequest, requestAssistance } from '@svc/assistance/requests';
import { parseRules } from '@svc/assistance/rules';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../support/api-event.js';
import { captureEmf } from '../support/emf.js';

type Consumer = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

const SLACK_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/svc-test-assistance-slack';
const EMAIL_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/svc-test-assistance-email';
const rules = parseRules({
  rules: [
    {
      topic: 'sales',
      channel: 'slack',
      fallback: { channel: 'email', recipients: ['fallback@example.com'] },
    },
    { topic: 'pricing', channel: 'email', recipients: ['pricing@example.com'] },
  ],
});

/** The fake Slack webhook: answers with `answer`, keeps every post. */
let answer: { status: number; headers?: Record<string, string> } = { status: 200 };
const posts: { blocks: unknown[] }[] = [];
let slack: Server;
const sqs = mockClient(SQSClient);
const emf = captureEmf();
const ssm = mockClient(SSMClient);
const ses = mockClient(SESClient);
let deliverSlack: Consumer;
let deliverEmail: Consumer;

beforeAll(async () => {
  slack = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      if (answer.status === 200) posts.push(JSON.parse(data));
      res.writeHead(answer.status, answer.headers).end(answer.status === 200 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  const webhook = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T/B/x`;
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: webhook } });
  Object.assign(process.env, {
    PARAM_ASSISTANCE_SLACK_WEBHOOK_URL: '/svc/test/assistance-slack-webhook-url',
    QUEUE_URL_ASSISTANCE_SLACK: SLACK_QUEUE,
    QUEUE_URL_ASSISTANCE_EMAIL: EMAIL_QUEUE,
    SQS_MAX_RECEIVE_COUNT: '3',
    EMAIL_FROM: 'assistance@example.com',
  });
  deliverSlack = (await import('../../functions/assistance/deliver-slack.js')).handler as unknown as Consumer;
  deliverEmail = (await import('../../functions/assistance/deliver-email.js')).handler as unknown as Consumer;
});

afterAll(() => {
  emf.stop();
  return new Promise<void>((resolve) => slack.close(() => resolve()));
});

beforeEach(() => {
  answer = { status: 200 };
  posts.length = 0;
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: randomUUID() });
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
});

async function newRequest(topic: string) {
  const accepted = await requestAssistance(
    { rules: { current: async () => rules }, enqueue: async () => undefined },
    'owner',
    { topic, description: 'Help <me> & my team' },
  );
  return accepted.id;
}

function record(requestId: string, channel: string, receiveCount = 1, messageId = randomUUID()) {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: JSON.stringify({ requestId, channel }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:svc-test-assistance-${channel}`,
    awsRegion: 'us-east-1',
  };
}

const batch = (...records: ReturnType<typeof record>[]): SQSEvent => ({ Records: records });

describe('Slack channel Lambda', () => {
  it('posts each request once, even when the batch is redelivered', async () => {
    const [a, b] = [await newRequest('sales'), await newRequest('sales')];
    const event = batch(record(a, 'slack'), record(b, 'slack'));
    expect(await deliverSlack(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await deliverSlack(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(posts).toHaveLength(2);
    expect(JSON.stringify(posts[0])).toContain('Help &lt;me&gt; &amp; my team');
    expect(await getRequest('owner', a)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('on 429 reports only that record failed and keeps it invisible for Retry-After', async () => {
    const id = await newRequest('sales');
    answer = { status: 429, headers: { 'retry-after': '30' } };
    const failing = record(id, 'slack');
    const result = await deliverSlack(batch(failing), lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
    const change = sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input;
    expect(change).toMatchObject({ QueueUrl: SLACK_QUEUE, ReceiptHandle: failing.receiptHandle });
    expect(change?.VisibilityTimeout).toBeGreaterThanOrEqual(30);
    expect(await getRequest('owner', id)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it('on a permanent 4xx hands over to the fallback email queue once', async () => {
    const id = await newRequest('sales');
    answer = { status: 404 };
    expect(await deliverSlack(batch(record(id, 'slack')), lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(await deliverSlack(batch(record(id, 'slack', 2)), lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    const queued = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(queued).toEqual([
      { QueueUrl: EMAIL_QUEUE, MessageBody: JSON.stringify({ requestId: id, channel: 'email' }) },
    ]);
    expect(await getRequest('owner', id)).toMatchObject({ channel: 'email', status: 'queued' });

    expect(await deliverEmail(batch(record(id, 'email')), lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    const mail = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(mail?.Destination?.ToAddresses).toEqual(['fallback@example.com']);
    expect(await getRequest('owner', id)).toMatchObject({
      channel: 'email',
      status: 'delivered',
      attempts: 2,
    });
  });

  it('fails the request after the last receive of a 5xx', async () => {
    const id = await newRequest('pricing');
    ses
      .on(SendEmailCommand)
      .rejects(
        Object.assign(new Error('boom'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }),
      );
    const first = await deliverEmail(batch(record(id, 'email', 1)), lambdaContext());
    expect(first.batchItemFailures).toHaveLength(1);
    expect(await deliverEmail(batch(record(id, 'email', 3)), lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(await getRequest('owner', id)).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('sends a malformed message towards the DLQ without touching anything else in the batch', async () => {
    const id = await newRequest('sales');
    const bad = { ...record(id, 'slack'), body: 'not json' };
    const good = record(id, 'slack');
    const result = await deliverSlack(batch(bad, good), lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(posts).toHaveLength(1);
  });
});

describe('assistance metrics (EMF on stdout)', () => {
  it('count deliveries per channel and outcome, and each fallback from its channel', async () => {
    const delivered = await newRequest('sales');
    const handedOver = await newRequest('sales');
    emf.clear();
    await deliverSlack(batch(record(delivered, 'slack')), lambdaContext());
    // A redelivery finds nothing to do.
    await deliverSlack(batch(record(delivered, 'slack')), lambdaContext());
    answer = { status: 404 };
    await deliverSlack(batch(record(handedOver, 'slack')), lambdaContext());
    ses
      .on(SendEmailCommand)
      .rejects(
        Object.assign(new Error('boom'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }),
      );
    await deliverEmail(batch(record(handedOver, 'email', 1)), lambdaContext());
    await deliverEmail(batch(record(handedOver, 'email', 3)), lambdaContext());

    expect(emf.sum('AssistanceDeliveries', { channel: 'slack', outcome: 'delivered' })).toBe(1);
    expect(emf.sum('AssistanceDeliveries', { channel: 'slack', outcome: 'skipped' })).toBe(1);
    expect(emf.sum('AssistanceDeliveries', { channel: 'slack', outcome: 'fallback' })).toBe(1);
    expect(emf.sum('AssistanceFallbacks', { channel: 'slack' })).toBe(1);
    expect(emf.sum('AssistanceDeliveries', { channel: 'email', outcome: 'retry' })).toBe(1);
    expect(emf.sum('AssistanceDeliveries', { channel: 'email', outcome: 'failed' })).toBe(1);
    for (const m of emf.find('AssistanceDeliveries'))
      expect(Object.keys(m.dimensions).sort()).toEqual(['channel', 'outcome', 'service']);
  });
});
