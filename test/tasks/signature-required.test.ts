import { startLocalSsm } from '@svc/local/ssm-server';
import { ServiceUnavailable } from '@svc/platform';
import { Signature } from '@svc/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/tasks/webhook.js';
import { invoke } from '../support/api-event.js';
import { taskEvent, uid, webhookEvent } from './support.js';

const SECRET = 'whsec-tasks-required-0123456789';
const PARAMETER = '/svc/test/tasks-webhook-secret-required';
let ssm: Awaited<ReturnType<typeof startLocalSsm>>;

// This file is a stage that requires signatures (the prod preset): the secret starts out absent.
beforeAll(async () => {
  ssm = await startLocalSsm({});
  Object.assign(process.env, {
    PARAM_TASKS_WEBHOOK_SECRET: PARAMETER,
    WEBHOOK_SIGNATURE_REQUIRED: 'true',
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
  });
});
afterAll(() => ssm.stop());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const rawBody = () =>
  JSON.stringify(taskEvent({ userId: uid(), id: uid('task'), timestamp: '2026-03-01T10:00:00Z' }));
const send = (raw: string, headers: Record<string, string> = {}) =>
  invoke(handler, webhookEvent(raw, { 'content-type': 'application/json', ...headers }));
const signed = (raw: string, secret = SECRET) => ({
  'X-Webhook-Signature': Signature.signBody(secret, raw),
  'X-Webhook-Timestamp': String(nowSeconds()),
});

function expectUnavailable(res: Awaited<ReturnType<typeof send>>) {
  expect(res.status).toBe(503);
  expect(res.body.error.status).toBe(503);
  expect(res.headers?.['retry-after']).toBe('5');
  // The answer names no parameter (SPEC: names stay in logs).
  expect(JSON.stringify(res.body)).not.toMatch(/\/svc\/|tasks-webhook-secret/);
}

describe('POST /webhook when the stage requires signatures', () => {
  it('answers 503, never accepting it unsigned, while the secret does not exist', async () => {
    const raw = rawBody();
    expectUnavailable(await send(raw));
    expectUnavailable(await send(raw, signed(raw)));
  });

  it('answers 503 while Parameter Store fails', async () => {
    ssm.put(PARAMETER, SECRET, 'SecureString');
    ssm.failing = true;
    try {
      const raw = rawBody();
      expectUnavailable(await send(raw));
    } finally {
      ssm.failing = false;
    }
  });

  it('verifies as usual once the secret is readable: signed 202, unsigned 401', async () => {
    const raw = rawBody();
    expect((await send(raw)).status).toBe(401);
    expect((await send(raw, signed(raw))).status).toBe(202);
  });
});

describe('webhookSecret', () => {
  const read = (value: string | undefined | Error) => async () => {
    if (value instanceof Error) throw value;
    return value;
  };
  const required = { PARAM_TASKS_WEBHOOK_SECRET: PARAMETER, WEBHOOK_SIGNATURE_REQUIRED: true };
  const optional = { ...required, WEBHOOK_SIGNATURE_REQUIRED: false };

  it.each([
    ['no parameter configured', { ...required, PARAM_TASKS_WEBHOOK_SECRET: '' }, read(SECRET)],
    ['an absent or empty parameter', required, read(undefined)],
    ['an unreadable parameter', required, read(new Error('AccessDenied'))],
  ])('is a 503 naming the parameter only in its cause when required: %s', async (_, settings, reader) => {
    const error = await Signature.webhookSecret(settings, reader).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as Error).message).not.toContain('/svc/');
    expect(String((error as Error).cause)).toMatch(/PARAM_TASKS_WEBHOOK_SECRET|\/svc\/test\//);
  });

  it('is undefined (unsigned stage) only when signing is not required', async () => {
    expect(await Signature.webhookSecret(optional, read(undefined))).toBeUndefined();
    expect(await Signature.webhookSecret({ ...optional, PARAM_TASKS_WEBHOOK_SECRET: '' }, read(SECRET))).toBe(
      undefined,
    );
    expect(await Signature.webhookSecret(required, read(SECRET))).toBe(SECRET);
  });
});
