import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { dispatchDb } from '@svc/dispatch/entities';
import { submitMessage } from '@svc/dispatch/messages';
import { verifyWebhookSignature } from '@svc/platform/webhooks';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../support/api-event.js';
import { captureEmf } from '../support/emf.js';
import { memoryQueue, sqsEvent, uniqueNumber } from './support.js';

/**
 * DispatchStatusCallbacks through its real handler (Powertools batch, partial failures): signed POSTs to a
 * receiver on 127.0.0.1, and on a failure the record postponed by the stage backoff with jitter.
 */
const SECRET = 'status-callback-test-secret';
const SECRET_PARAMETER = '/svc/test/dispatch-status-callback-secret';
const QUEUE_URL = 'http://sqs.test/000000000000/svc-test-dispatch-status-callbacks';
const sqs = mockClient(SQSClient);
const emf = captureEmf();
const ssm = mockClient(SSMClient);
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let server: Server;
let base = '';
let answer = 200;
const received: { raw: string; signature: string; eventId: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      received.push({
        raw,
        signature: String(req.headers['x-signature']),
        eventId: String(req.headers['x-event-id']),
      });
      res.writeHead(answer);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    PARAM_DISPATCH_STATUS_CALLBACK_SECRET: SECRET_PARAMETER,
    QUEUE_URL_DISPATCH_STATUS_CALLBACKS: QUEUE_URL,
    STATUS_CALLBACK_LOCAL_HTTP: 'true',
    STATUS_CALLBACK_TIMEOUT_MS: '1000',
    SQS_MAX_RECEIVE_COUNT: '3',
    SQS_QUEUE_URL: QUEUE_URL,
    SQS_RETRY_BACKOFF_SECONDS: '30',
    RECEIVER_BREAKER_FAILURE_THRESHOLD: '1000',
  });
  handler = (await import('../../functions/dispatch/status-callbacks.js')).handler;
});

afterAll(async () => {
  emf.stop();
  sqs.restore();
  ssm.restore();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  answer = 200;
  received.length = 0;
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: randomUUID() });
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  ssm.reset();
  ssm.on(GetParameterCommand, { Name: SECRET_PARAMETER }).resolves({
    Parameter: { Name: SECRET_PARAMETER, Type: 'SecureString', Value: SECRET, Version: 1 },
  });
});

async function sentMessage(): Promise<string> {
  const { id } = await submitMessage(
    { to_number: uniqueNumber(), message: 'h', status_callback_url: `${base}/hook` },
    { queue: memoryQueue(), checkCallbackUrl: async () => ({ ok: true }) },
  );
  await dispatchDb()
    .entities.message.patch({ id })
    .set({ status: 'sent' })
    .append({ history: [{ status: 'sent', at: new Date().toISOString(), provider: 'provider1' }] })
    .go();
  return id;
}

const run = (id: string, receiveCount = 1) =>
  handler(
    sqsEvent([{ body: JSON.stringify({ id }), receiveCount }]),
    lambdaContext('DispatchStatusCallbacks'),
  );

describe('DispatchStatusCallbacks handler', () => {
  it('POSTs the status signed with the stage secret and acknowledges the record', async () => {
    const id = await sentMessage();
    expect((await run(id)).batchItemFailures).toEqual([]);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]?.raw ?? '')).toMatchObject({ id, status: 'sent', provider: 'provider1' });
    expect(received[0]?.eventId).toBe(`${id}:sent:1`);
    expect(verifyWebhookSignature(SECRET, received[0]?.raw ?? '', received[0]?.signature)).toBe(true);
  });

  it('fails the record and postpones it by the backoff with jitter when the receiver answers 500', async () => {
    answer = 500;
    const id = await sentMessage();
    const first = await run(id, 1);
    expect(first.batchItemFailures).toHaveLength(1);
    const second = await run(id, 2);
    expect(second.batchItemFailures).toHaveLength(1);
    const delays = sqs
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((c) => c.args[0].input.VisibilityTimeout ?? 0);
    // 30 s then 60 s, each somewhere between half and all of it.
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(15);
    expect(delays[0]).toBeLessThanOrEqual(30);
    expect(delays[1]).toBeGreaterThanOrEqual(30);
    expect(delays[1]).toBeLessThanOrEqual(60);
  });

  it('on the last receive fails the record without postponing it, so SQS moves it to the DLQ', async () => {
    answer = 503;
    const id = await sentMessage();
    expect((await run(id, 3)).batchItemFailures).toHaveLength(1);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('sends an unreadable record to the DLQ instead of dropping it, and ignores unknown messages', async () => {
    const poison = await handler(sqsEvent([{ body: 'not json' }]), lambdaContext('DispatchStatusCallbacks'));
    expect(poison.batchItemFailures).toHaveLength(1);
    expect((await run(randomUUID())).batchItemFailures).toEqual([]);
    expect(received).toEqual([]);
  });
});

describe('status callback metrics', () => {
  it('count each POST the receiver acknowledged or refused', async () => {
    const id = await sentMessage();
    emf.clear();
    await run(id);
    expect(emf.find('StatusCallbacks')).toEqual([
      expect.objectContaining({
        unit: 'Count',
        values: [1],
        dimensions: { service: 'services', outcome: 'delivered' },
      }),
    ]);
    answer = 500;
    const other = await sentMessage();
    emf.clear();
    await run(other, 1);
    expect(emf.sum('StatusCallbacks', { outcome: 'failed' })).toBe(1);
    expect(emf.sum('StatusCallbacks', { outcome: 'delivered' })).toBe(0);
  });
});
