import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { callbackToken } from '@svc/dispatch/callback-token';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, invoke, lambdaContext } from '../support/api-event.js';
import { captureEmf } from '../support/emf.js';
import { testRateLimits } from '../support/limits.js';
import { sqsEvent, startIssuer, startProviderServer, uniqueNumber } from './support.js';

type ApiHandler = Parameters<typeof invoke>[0];
type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const SECRET = 'dispatch-test-secret';
const SECRET_PARAMETER = '/svc/test/dispatch-callback-secret';
const QUEUE_URL = 'http://sqs.test/000000000000/svc-test-dispatch-send';
const CALLBACKS_QUEUE_URL = 'http://sqs.test/000000000000/svc-test-dispatch-status-callbacks';

const sqs = mockClient(SQSClient);
/** The EMF lines the handlers write (asserted in 'business metrics'). */
const emf = captureEmf();
const ssm = mockClient(SSMClient);
let issuer: Awaited<ReturnType<typeof startIssuer>>;
let providers: Awaited<ReturnType<typeof startProviderServer>>;
let handlers: {
  send: ApiHandler;
  get: ApiHandler;
  list: ApiHandler;
  status: ApiHandler;
  sender: SqsHandler;
};
let sendToken: string;
let readToken: string;

beforeAll(async () => {
  issuer = await startIssuer();
  providers = await startProviderServer();
  Object.assign(process.env, {
    QUEUE_URL_DISPATCH_SEND: QUEUE_URL,
    PARAM_DISPATCH_CALLBACK_SECRET: SECRET_PARAMETER,
    QUEUE_URL_DISPATCH_STATUS_CALLBACKS: CALLBACKS_QUEUE_URL,
    PROVIDER1_URL: `${providers.url}/provider1/sms`,
    PROVIDER2_URL: `${providers.url}/provider2/sms`,
    PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
    PROVIDER_TIMEOUT_MS: '500',
    CALLBACK_BASE_URL: 'https://api.dispatch.test',
    SQS_MAX_RECEIVE_COUNT: '3',
    // One failure must not open a breaker that later tests in this file rely on.
    BREAKER_FAILURE_THRESHOLD: '1000',
    RATE_LIMITS: testRateLimits('dispatch'),
  });
  // Configuration is read at import (cold start), so the handlers load after the settings exist.
  handlers = {
    send: (await import('../../functions/dispatch/send-message.js')).handler,
    get: (await import('../../functions/dispatch/get-message.js')).handler,
    list: (await import('../../functions/dispatch/list-messages.js')).handler,
    status: (await import('../../functions/dispatch/delivery-status.js')).handler,
    sender: (await import('../../functions/dispatch/sender.js')).handler,
  };
  sendToken = await issuer.token('messages:send');
  readToken = await issuer.token('messages:read');
});

afterAll(async () => {
  emf.stop();
  await issuer.stop();
  await providers.stop();
  sqs.restore();
  ssm.restore();
});

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: randomUUID() });
  ssm.reset();
  ssm.on(GetParameterCommand, { Name: SECRET_PARAMETER }).resolves({
    Parameter: { Name: SECRET_PARAMETER, Type: 'SecureString', Value: SECRET, Version: 1 },
  });
  providers.modes.provider1 = 'ok';
  providers.modes.provider2 = 'ok';
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const post = (body: unknown, headers: Record<string, string> = {}) =>
  invoke(
    handlers.send,
    apiEvent({ method: 'POST', route: '/messages', body, headers: { ...bearer(sendToken), ...headers } }),
  );

const get = (id: string, token = readToken) =>
  invoke(
    handlers.get,
    apiEvent({ method: 'GET', route: '/messages/{id}', pathParameters: { id }, headers: bearer(token) }),
  );

const list = (query: Record<string, string>) =>
  invoke(handlers.list, apiEvent({ method: 'GET', route: '/messages', query, headers: bearer(readToken) }));

const callback = (token: string | undefined, body: unknown) =>
  invoke(
    handlers.status,
    apiEvent({
      method: 'POST',
      route: '/messages/delivery_status',
      ...(token === undefined ? {} : { query: { token } }),
      body,
    }),
  );

/** Jobs the send route put on the (mocked) queue. */
const queuedJobs = () =>
  sqs.commandCalls(SendMessageCommand).map((c) => ({
    queueUrl: c.args[0].input.QueueUrl,
    body: JSON.parse(c.args[0].input.MessageBody ?? '{}') as { id: string },
  }));

async function runSender(ids: string[], receiveCount = 1): Promise<SQSBatchResponse> {
  const event = sqsEvent(ids.map((id) => ({ body: JSON.stringify({ id }), receiveCount })));
  return handlers.sender(event, lambdaContext('DispatchSender'));
}

/** A message accepted by a provider: returns it with the callback token and the provider's id. */
async function sentMessage(to_number = uniqueNumber()) {
  const res = await post({ to_number, message: 'hello' });
  expect(res.status).toBe(202);
  const before = providers.calls.length;
  expect((await runSender([res.body.id])).batchItemFailures).toEqual([]);
  const call = providers.calls.slice(before).find((c) => c.status === 200);
  const token = new URL(call?.body.callback_url ?? '').searchParams.get('token') ?? '';
  return { id: res.body.id as string, token, providerMessageId: call?.messageId as string };
}

describe('POST /messages', () => {
  it('stores the message, queues its id and answers 202 with segments and encoding', async () => {
    const res = await post({ to_number: '(415) 555-2671', message: 'Hello {world}' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      to_number: '+14155552671',
      message: 'Hello {world}',
      status: 'queued',
      segments: 1,
      encoding: 'GSM-7',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
    });
    expect(queuedJobs()).toEqual([{ queueUrl: QUEUE_URL, body: { id: res.body.id } }]);
    const stored = await get(res.body.id);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ status: 'queued', history: [{ status: 'queued' }] });
  });

  it('counts UCS-2 segments', async () => {
    const res = await post({ to_number: uniqueNumber(), message: `${'ç'.repeat(69)}😀` });
    expect(res.body).toMatchObject({ encoding: 'UCS-2', segments: 2 });
  });

  it.each([
    ['an invalid number', { to_number: '111-222-3333', message: 'hi' }, 'to_number'],
    ['a non-string number', { to_number: 4155552671, message: 'hi' }, 'to_number'],
    ['an empty message', { to_number: '4155552671', message: '' }, 'message'],
    ['11 segments', { to_number: '4155552671', message: 'a'.repeat(1531) }, 'message'],
    ['11 UCS-2 segments', { to_number: '4155552671', message: 'ç'.repeat(671) }, 'message'],
  ])('answers 422 for %s and queues nothing', async (_, body, field) => {
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(Object.keys(res.body.error.errors)).toEqual([field]);
    expect(queuedJobs()).toEqual([]);
  });

  it('answers 401 without a token and 403 without the send scope', async () => {
    const anonymous = await invoke(
      handlers.send,
      apiEvent({ method: 'POST', route: '/messages', body: { to_number: '4155552671', message: 'hi' } }),
    );
    expect(anonymous.status).toBe(401);
    const readOnly = await post({ to_number: '4155552671', message: 'hi' }, bearer(readToken));
    expect(readOnly.status).toBe(403);
    expect(queuedJobs()).toEqual([]);
  });

  it('replays the first answer for a repeated Idempotency-Key and sends once', async () => {
    const key = randomUUID();
    const body = { to_number: uniqueNumber(), message: 'only once' };
    const first = await post(body, { 'idempotency-key': key });
    const again = await post(body, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(queuedJobs()).toHaveLength(1);
    const other = await post({ ...body, message: 'something else' }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect((await list({ to_number: body.to_number })).body.data).toHaveLength(1);
  });

  it.each([
    ['+1 900 555 0199', 'premium-rate numbers are not accepted'],
    ['+44 909 879 0000', 'destination country not enabled'],
    ['+44 20 7183 8750', 'destination country not enabled'],
    ['+1 876 555 1234', 'destination country not enabled'],
  ])('refuses %s with 422 under to_number (%s) and queues nothing', async (to_number, reason) => {
    const res = await post({ to_number, message: 'win a prize' });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ status: 422, errors: { to_number: [reason] } });
    expect(queuedJobs()).toEqual([]);
  });

  it('answers 503 when the queue refuses, keeping the message marked failed (never sent)', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('queue down'));
    const to_number = uniqueNumber();
    const res = await post({ to_number, message: 'hi' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    const [stored] = (await list({ to_number })).body.data;
    expect(stored).toMatchObject({ status: 'failed' });
    const full = await get(stored.id);
    expect(full.body.history.at(-1)).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('queued'),
    });
  });
});

describe('sender handler', () => {
  it('sends through a provider with a signed callback URL and records it as sent', async () => {
    const res = await post({ to_number: uniqueNumber(), message: 'via provider' });
    const before = providers.calls.length;
    expect(await runSender([res.body.id])).toEqual({ batchItemFailures: [] });
    const [call] = providers.calls.slice(before);
    expect(call?.body).toMatchObject({ to_number: res.body.to_number, message: 'via provider' });
    const url = new URL(call?.body.callback_url ?? '');
    expect(`${url.origin}${url.pathname}`).toBe('https://api.dispatch.test/messages/delivery_status');
    expect(url.searchParams.get('token')).toBe(callbackToken(SECRET, res.body.id));
    const stored = await get(res.body.id);
    expect(stored.body).toMatchObject({
      status: 'sent',
      provider: call?.provider,
      provider_message_id: call?.messageId,
    });
  });

  it('fails over when the chosen provider is down', async () => {
    providers.modes.provider2 = 'down';
    const ids = await Promise.all(
      Array.from(
        { length: 6 },
        async () => (await post({ to_number: uniqueNumber(), message: 'x' })).body.id,
      ),
    );
    expect((await runSender(ids)).batchItemFailures).toEqual([]);
    for (const id of ids)
      expect((await get(id)).body).toMatchObject({ status: 'sent', provider: 'provider1' });
  });

  it('fails over on a timeout', async () => {
    providers.modes.provider1 = 'slow';
    providers.modes.provider2 = 'slow';
    const { body } = await post({ to_number: uniqueNumber(), message: 'slow' });
    const started = Date.now();
    const result = await runSender([body.id]);
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(result.batchItemFailures).toHaveLength(1);
    const history = (await get(body.id)).body.history;
    expect(history.at(-1).detail).toMatch(
      /provider1 no answer within 500 ms.*provider2 no answer within 500 ms|provider2 no answer within 500 ms.*provider1 no answer within 500 ms/,
    );
  });

  it('reports the record failed while both are down, marks it failed on the last receive, and a replay sends it once', async () => {
    providers.modes.provider1 = 'down';
    providers.modes.provider2 = 'down';
    const { body } = await post({ to_number: uniqueNumber(), message: 'outage' });
    for (const receive of [1, 2]) {
      const result = await runSender([body.id], receive);
      expect(result.batchItemFailures).toHaveLength(1);
      expect((await get(body.id)).body.status).toBe('sending');
    }
    expect((await runSender([body.id], 3)).batchItemFailures).toHaveLength(1);
    expect((await get(body.id)).body.status).toBe('failed');
    providers.modes.provider1 = 'ok';
    providers.modes.provider2 = 'ok';
    const before = providers.calls.length;
    // DLQ redrive: the same job again, possibly twice.
    expect((await runSender([body.id, body.id])).batchItemFailures.length).toBeLessThanOrEqual(1);
    await runSender([body.id]);
    expect(providers.calls.slice(before).filter((c) => c.status === 200)).toHaveLength(1);
    expect((await get(body.id)).body.status).toBe('sent');
  });

  it('sends the DLQ an unreadable record instead of dropping it', async () => {
    const event = sqsEvent([{ body: 'not json' }]);
    const result = await handlers.sender(event, lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
  });
});

describe('POST /messages/delivery_status', () => {
  it('moves a sent message to delivered, and duplicate or late callbacks change nothing', async () => {
    const m = await sentMessage();
    const first = await callback(m.token, { status: 'delivered', message_id: m.providerMessageId });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ id: m.id, status: 'delivered', changed: true });
    const duplicate = await callback(m.token, { status: 'delivered', message_id: m.providerMessageId });
    expect(duplicate.body).toEqual({ id: m.id, status: 'delivered', changed: false });
    const late = await callback(m.token, { status: 'failed', message_id: m.providerMessageId });
    expect(late.status).toBe(200);
    expect(late.body).toEqual({ id: m.id, status: 'delivered', changed: false });
    const stored = await get(m.id);
    expect(stored.body.status).toBe('delivered');
    expect(stored.body.history.map((h: { status: string }) => h.status)).toEqual([
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
  });

  it.each([
    ['missing', () => undefined],
    ['empty', () => ''],
    ['made with another secret', (id: string) => callbackToken('not-the-secret', id)],
    ['tampered', (id: string) => `${callbackToken(SECRET, id).slice(0, -1)}x`],
  ])('answers 401 for a %s token and changes nothing', async (_, tokenFor) => {
    const m = await sentMessage();
    const res = await callback(tokenFor(m.id), { status: 'delivered', message_id: m.providerMessageId });
    expect(res.status).toBe(401);
    expect((await get(m.id)).body.status).toBe('sent');
  });

  it('answers 401 for a forged token before looking at the body', async () => {
    const m = await sentMessage();
    const forged = callbackToken('not-the-secret', m.id);
    expect((await callback(forged, '{not json')).status).toBe(401);
    expect((await callback(forged, { status: 'teleported' })).status).toBe(401);
    expect((await callback(m.token, { status: 'teleported' })).status).toBe(422);
  });

  it('answers 404 for an unknown message and for a provider id that is not this message’s', async () => {
    const unknown = await callback(callbackToken(SECRET, randomUUID()), {
      status: 'delivered',
      message_id: randomUUID(),
    });
    expect(unknown.status).toBe(404);
    const m = await sentMessage();
    const wrong = await callback(m.token, { status: 'delivered', message_id: randomUUID() });
    expect(wrong.status).toBe(404);
    expect((await get(m.id)).body.status).toBe('sent');
  });

  it('answers 422 for an unknown status', async () => {
    const m = await sentMessage();
    const res = await callback(m.token, { status: 'read', message_id: m.providerMessageId });
    expect(res.status).toBe(422);
  });

  it('suppresses a number reported invalid: later sends to it are refused with 422', async () => {
    const number = uniqueNumber();
    const m = await sentMessage(number);
    const res = await callback(m.token, { status: 'invalid', message_id: m.providerMessageId });
    expect(res.body).toMatchObject({ status: 'invalid', changed: true });
    const refused = await post({ to_number: number, message: 'again' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.errors.to_number).toEqual([expect.stringContaining('invalid')]);
    expect((await post({ to_number: uniqueNumber(), message: 'others still work' })).status).toBe(202);
  });
});

describe('GET /messages', () => {
  it('lists one number’s messages newest first, page by page', async () => {
    const to_number = uniqueNumber();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await post({ to_number, message: `m${i}` })).body.id);
      await new Promise((r) => setTimeout(r, 3));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof list>> = await list({
        to_number,
        limit: '2',
        ...(cursor ? { cursor } : {}),
      });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((m: { id: string }) => m.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('accepts the number in any format and lists every message without one', async () => {
    const { body } = await post({ to_number: '(415) 555-2671', message: 'format' });
    const byNumber = await list({ to_number: '415-555-2671', limit: '100' });
    expect(byNumber.body.data.map((m: { id: string }) => m.id)).toContain(body.id);
    await post({ to_number: uniqueNumber(), message: 'one more' });
    await post({ to_number: uniqueNumber(), message: 'and another' });
    // Other test files write to the same table meanwhile, so only the order is certain.
    const all = await list({ limit: '2' });
    const created = all.body.data.map((m: { created_at: string }) => m.created_at);
    expect(created).toHaveLength(2);
    expect(created).toEqual([...created].sort().reverse());
    expect(all.body.next_cursor).toEqual(expect.any(String));
  });

  it('ends with next_cursor null exactly at the last page', async () => {
    const to_number = uniqueNumber();
    for (let i = 0; i < 4; i++) await post({ to_number, message: `p${i}` });
    const first = await list({ to_number, limit: '2' });
    expect(first.body.data).toHaveLength(2);
    const second = await list({ to_number, limit: '2', cursor: first.body.next_cursor });
    expect(second.body.data).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    const whole = await list({ to_number, limit: '4' });
    expect(whole.body.next_cursor).toBeNull();
    expect(whole.body.data.map((m: { id: string }) => m.id)).toEqual(
      [...first.body.data, ...second.body.data].map((m: { id: string }) => m.id),
    );
  });

  it('continues a listing with a cursor from the other listing (a cursor is a position)', async () => {
    const to_number = uniqueNumber();
    const older = (await post({ to_number, message: 'older' })).body.id;
    await new Promise((r) => setTimeout(r, 3));
    await post({ to_number, message: 'newer' });
    const all = await list({ limit: '1' });
    expect(all.status).toBe(200);
    const mine = await list({ to_number, limit: '1' });
    const next = await list({ to_number, limit: '5', cursor: mine.body.next_cursor });
    expect(next.body.data.map((m: { id: string }) => m.id)).toEqual([older]);
    const crossed = await list({ to_number, limit: '5', cursor: all.body.next_cursor });
    expect(crossed.status).toBe(200);
  });

  const wrapped = (position: unknown) =>
    Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');

  it.each([
    ['a position that is not ours', wrapped('garbage')],
    ['a DynamoDB key instead of a position', wrapped(Buffer.from('{"pk":"x"}').toString('base64'))],
    ['a position with a bad id', wrapped('2026-01-01T00:00:00.000Z|not-an-id')],
  ])('answers 400, not 500, for a cursor with %s', async (_, cursor) => {
    const queries: Record<string, string>[] = [{ cursor }, { cursor, to_number: uniqueNumber() }];
    for (const query of queries) {
      const res = await list(query);
      expect(res.status).toBe(400);
      expect(res.body.error.errors).toHaveProperty('cursor');
    }
  });

  it.each([
    [{ to_number: 'nope' }, 'to_number'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ cursor: '!!' }, 'cursor'],
  ])('answers 400 for %j', async (query, field) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty(field);
  });
});

describe('GET /messages/{id}', () => {
  it('answers 404 for an unknown id, 400 for a non-UUID, 403 without the read scope', async () => {
    expect((await get(randomUUID())).status).toBe(404);
    expect((await get('42')).status).toBe(400);
    const { body } = await post({ to_number: uniqueNumber(), message: 'x' });
    expect((await get(body.id, sendToken)).status).toBe(403);
  });
});

describe('status callbacks (SPEC §5) in the handlers, under the deployed URL rules', () => {
  // This file's environment has no STATUS_CALLBACK_LOCAL_HTTP: the rules of a deployed stage.
  const announced = () =>
    queuedJobs()
      .filter((j) => j.queueUrl === CALLBACKS_QUEUE_URL)
      .map((j) => j.body.id);

  it('refuses http and non-public URLs with 422 under errors.status_callback_url', async () => {
    for (const [url, problem] of [
      ['http://127.0.0.1:4000/hook', 'must use https'],
      ['http://hooks.example.com/hook', 'must use https'],
      ['https://192.168.1.20/hook', 'must not point to a loopback, private, link-local or metadata address'],
      ['https://localhost/hook', 'host resolves to a loopback, private, link-local or metadata address'],
    ]) {
      const res = await post({ to_number: uniqueNumber(), message: 'x', status_callback_url: url });
      expect(res.status, url).toBe(422);
      expect(res.body.error.errors).toEqual({ status_callback_url: [problem] });
    }
    const typed = await post({ to_number: uniqueNumber(), message: 'x', status_callback_url: 42 });
    expect(typed.status).toBe(422);
    expect(typed.body.error.errors).toHaveProperty('status_callback_url');
    expect(queuedJobs()).toEqual([]);
  });

  it('accepts https to a public address, shows it on the message and announces sent after the send', async () => {
    const url = 'https://93.184.215.14/sms-status';
    const res = await post({ to_number: uniqueNumber(), message: 'x', status_callback_url: url });
    expect(res.status).toBe(202);
    expect(res.body).not.toHaveProperty('status_callback_url');
    const plain = await post({ to_number: uniqueNumber(), message: 'no callback' });
    expect((await runSender([res.body.id, plain.body.id])).batchItemFailures).toEqual([]);
    const view = await get(res.body.id);
    expect(view.body.status_callback_url).toBe(url);
    expect(view.body.history.find((h: { status: string }) => h.status === 'sent').detail).toBe(
      'status callback: pending',
    );
    expect((await get(plain.body.id)).body).not.toHaveProperty('status_callback_url');
    // Only the message with a URL is announced, and only once its `sent` is stored.
    expect(announced()).toEqual([res.body.id]);
  });

  it("answers a provider's callback 503 when the announcement fails, and its retry announces it", async () => {
    const res = await post({
      to_number: uniqueNumber(),
      message: 'x',
      status_callback_url: 'https://93.184.215.14/sms-status',
    });
    expect((await runSender([res.body.id])).batchItemFailures).toEqual([]);
    const call = providers.calls.find((c) => c.body.callback_url?.includes(res.body.id) && c.status === 200);
    const token = new URL(call?.body.callback_url ?? '').searchParams.get('token') ?? '';
    sqs.on(SendMessageCommand, { QueueUrl: CALLBACKS_QUEUE_URL }).rejects(new Error('SQS is down'));
    const refused = await callback(token, { status: 'delivered', message_id: call?.messageId });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    // The status itself is stored: nothing is lost, the provider's retry only passes it on.
    expect((await get(res.body.id)).body.status).toBe('delivered');
    sqs.on(SendMessageCommand, { QueueUrl: CALLBACKS_QUEUE_URL }).resolves({ MessageId: randomUUID() });
    const retried = await callback(token, { status: 'delivered', message_id: call?.messageId });
    expect(retried).toMatchObject({ status: 200, body: { changed: false, status: 'delivered' } });
    expect(announced().filter((id) => id === res.body.id).length).toBeGreaterThanOrEqual(2);
  });
});

describe('business metrics (EMF on stdout)', () => {
  const only = (name: string) => emf.find(name).map((m) => ({ unit: m.unit, dimensions: m.dimensions }));

  it('counts accepted, sent per provider, failovers, provider latency, deliveries and time to delivered', async () => {
    emf.clear();
    providers.modes.provider2 = 'down';
    const ids = await Promise.all(
      Array.from(
        { length: 6 },
        async () => (await post({ to_number: uniqueNumber(), message: 'm' })).body.id,
      ),
    );
    expect((await runSender(ids)).batchItemFailures).toEqual([]);
    expect(emf.sum('SmsAccepted')).toBe(6);
    expect(only('SmsAccepted')[0]).toEqual({ unit: 'Count', dimensions: { service: 'services' } });
    expect(emf.sum('SmsSent', { provider: 'provider1' })).toBe(6);
    expect(emf.sum('SmsSent', { provider: 'provider2' })).toBe(0);
    // Every call that found provider2 down was followed by provider1 taking the message over.
    const downCalls = emf
      .find('ProviderLatency', { provider: 'provider2', outcome: 'unavailable' })
      .reduce((n, m) => n + m.values.length, 0);
    expect(emf.sum('SmsFailovers', { provider: 'provider1' })).toBe(downCalls);
    expect(emf.find('ProviderLatency', { provider: 'provider1', outcome: 'accepted' })[0]?.unit).toBe(
      'Milliseconds',
    );
    expect(emf.sum('SmsSendJobs', { outcome: 'sent' })).toBe(6);
    expect(emf.sum('ApiRequests', { route: 'DispatchSendMessage', outcome: 'success' })).toBe(6);

    providers.modes.provider2 = 'ok';
    const m = await sentMessage();
    emf.clear();
    expect((await callback(m.token, { status: 'delivered', message_id: m.providerMessageId })).status).toBe(
      200,
    );
    // A duplicate changes nothing and counts nothing.
    await callback(m.token, { status: 'delivered', message_id: m.providerMessageId });
    const [delivered] = emf.find('SmsDelivery');
    expect(delivered).toMatchObject({ unit: 'Count', values: [1], dimensions: { outcome: 'delivered' } });
    expect(['provider1', 'provider2']).toContain(delivered?.dimensions.provider);
    expect(emf.find('SmsDelivery')).toHaveLength(1);
    const [elapsed] = emf.find('SmsTimeToDelivered');
    expect(elapsed).toMatchObject({
      unit: 'Milliseconds',
      dimensions: { provider: delivered?.dimensions.provider },
    });
    expect(elapsed?.values[0]).toBeGreaterThanOrEqual(0);
  });

  it('counts invalid and failed reports, and a send that failed for good', async () => {
    const m = await sentMessage();
    emf.clear();
    await callback(m.token, { status: 'invalid', message_id: m.providerMessageId });
    expect(emf.sum('SmsDelivery', { outcome: 'invalid' })).toBe(1);

    providers.modes.provider1 = 'down';
    providers.modes.provider2 = 'down';
    const { body } = await post({ to_number: uniqueNumber(), message: 'outage' });
    emf.clear();
    await runSender([body.id], 3);
    expect(emf.sum('SmsSendJobs', { outcome: 'failed' })).toBe(1);
    expect(emf.sum('SmsSent')).toBe(0);
  });
});
