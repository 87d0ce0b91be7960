import { startLocalSsm } from '@svc/local/ssm-server';
import { Signature } from '@svc/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/tasks/webhook.js';
import { invoke } from '../support/api-event.js';
import { taskEvent, uid, webhookEvent } from './support.js';

const SECRET = 'whsec-tasks-test-0123456789';
const PARAMETER = '/svc/test/tasks-webhook-secret';
let ssm: Awaited<ReturnType<typeof startLocalSsm>>;

// This file is a signed stage: the secret comes from SSM through the handler's real adapter.
beforeAll(async () => {
  ssm = await startLocalSsm({ [PARAMETER]: SECRET });
  Object.assign(process.env, { PARAM_TASKS_WEBHOOK_SECRET: PARAMETER, AWS_ENDPOINT_URL_SSM: ssm.endpoint });
});
afterAll(() => ssm.stop());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const rawBody = () =>
  JSON.stringify(taskEvent({ userId: uid(), id: uid('task'), timestamp: '2026-03-01T10:00:00Z' }));
const send = (raw: string, headers: Record<string, string>) =>
  invoke(handler, webhookEvent(raw, { 'content-type': 'application/json', ...headers }));
const signed = (raw: string, secret = SECRET, at = nowSeconds()) => ({
  'X-Webhook-Signature': Signature.signBody(secret, raw),
  'X-Webhook-Timestamp': String(at),
});

describe('POST /webhook with a webhook secret', () => {
  it('accepts a valid signature over the raw body', async () => {
    const raw = rawBody();
    expect((await send(raw, signed(raw))).status).toBe(202);
  });

  it('verifies the exact bytes received, not a re-serialisation', async () => {
    const raw = `{ "event":"created",  "timestamp":"2026-03-01T10:00:00Z", "metadata": {"userId":"${uid()}","id":"${uid('task')}","content":"é","isCompleted":false} }`;
    expect((await send(raw, signed(raw))).status).toBe(202);
  });

  it('accepts upper-case hex and a base64-encoded body', async () => {
    const raw = rawBody();
    const headers = signed(raw);
    headers['X-Webhook-Signature'] = headers['X-Webhook-Signature'].replace(/[a-f]/g, (c) => c.toUpperCase());
    const event = webhookEvent(Buffer.from(raw).toString('base64'), {
      'content-type': 'application/json',
      ...headers,
    });
    event.isBase64Encoded = true;
    expect(() => Signature.verifySignature(SECRET, event)).not.toThrow();
  });

  it.each([
    ['missing headers', (_raw: string) => ({})],
    ['a missing timestamp', (raw: string) => ({ 'X-Webhook-Signature': Signature.signBody(SECRET, raw) })],
    ['a missing signature', (_raw: string) => ({ 'X-Webhook-Timestamp': String(nowSeconds()) })],
    ['a wrong secret', (raw: string) => signed(raw, 'another-secret')],
    ['a signature of another body', (raw: string) => signed(`${raw} `)],
    ['a stale timestamp (6 minutes old)', (raw: string) => signed(raw, SECRET, nowSeconds() - 360)],
    ['a timestamp 6 minutes ahead', (raw: string) => signed(raw, SECRET, nowSeconds() + 360)],
    ['a non-numeric timestamp', (raw: string) => ({ ...signed(raw), 'X-Webhook-Timestamp': 'now' })],
    [
      'no sha256= prefix',
      (raw: string) => ({
        ...signed(raw),
        'X-Webhook-Signature': signed(raw)['X-Webhook-Signature'].slice(7),
      }),
    ],
    [
      'a truncated signature',
      (raw: string) => ({
        ...signed(raw),
        'X-Webhook-Signature': signed(raw)['X-Webhook-Signature'].slice(0, -2),
      }),
    ],
  ])('answers 401 for %s and stores nothing', async (_, headers) => {
    const raw = rawBody();
    const res = await send(raw, headers(raw));
    expect(res.status).toBe(401);
    expect(res.body.error.status).toBe(401);
    // The same delivery signed properly is a first create, so the rejected one stored nothing.
    const retry = await send(raw, signed(raw));
    expect(retry.body).toEqual({ status: 'accepted', applied: true });
  });

  it('accepts a timestamp within five minutes either way', async () => {
    for (const skew of [-290, 290]) {
      const raw = rawBody();
      expect((await send(raw, signed(raw, SECRET, nowSeconds() + skew))).status).toBe(202);
    }
  });

  it('checks the signature before the body: an unsigned malformed request is 401, not 400/422', async () => {
    expect((await send('{"event":', {})).status).toBe(401);
    expect((await send('{"event":"archived"}', {})).status).toBe(401);
  });
});
