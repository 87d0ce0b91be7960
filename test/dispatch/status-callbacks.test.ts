import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchService } from '@svc/dispatch';
import { dispatchDb } from '@svc/dispatch/entities';
import { receiverOf } from '@svc/dispatch/status-callbacks';
import { verifyWebhookSignature } from '@svc/platform/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, localToken } from '../support/gateway.js';
import { waitUntil } from '../support/wait.js';
import { type OwnRuntime, startOwnRuntime, uniqueNumber } from './support.js';

/**
 * SPEC §5 status callbacks end to end through the local gateway (the system `pnpm dev` starts): the real
 * send, sender, fake provider, delivery-status and status-callback functions, local SQS with its DLQ, and
 * a receiver in this test on 127.0.0.1 checking X-Signature with the secret `GET /__local/parameters` shows.
 */
const ENABLED = Boolean(process.env.AWS_ENDPOINT_URL_DYNAMODB);

interface Received {
  status: number;
  eventId: string;
  signature: string;
  raw: string;
  body: { id: string; status: string; at: string; provider?: string; detail?: string };
}

/** A receiver that answers each callback with the next of `answers` (the last one repeats). */
async function startReceiver(answers: number[] = [200], port = 0) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
    });
    req.on('end', () => {
      const status = answers[Math.min(received.length, answers.length - 1)] ?? 200;
      received.push({
        status,
        eventId: String(req.headers['x-event-id']),
        signature: String(req.headers['x-signature']),
        raw,
        body: JSON.parse(raw),
      });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms-status`;
  return {
    url,
    received,
    acknowledged: () => received.filter((r) => r.status >= 200 && r.status < 300),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let token = '';
let secret = '';

const send = (status_callback_url: string | undefined, message = 'callback me') =>
  gateway('POST', '/messages', {
    token,
    body: { to_number: uniqueNumber(), message, ...(status_callback_url ? { status_callback_url } : {}) },
  });

const history = async (id: string) =>
  (await gateway('GET', `/messages/${id}`, { token })).body.history as {
    status: string;
    detail?: string;
  }[];

describe.skipIf(!ENABLED)('status callbacks through the local gateway', () => {
  beforeAll(async () => {
    token = await localToken('messages:send messages:read', 'callbacks-e2e');
    const parameters = (await gateway('GET', '/__local/parameters')).body as Record<string, string>;
    secret = parameters['/svc/local/dispatch-status-callback-secret'] ?? '';
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    // Warm every function on the way once (a cold start on a busy machine can outlast the gateway's
    // timeout), so the limits below measure retries and callbacks.
    // The provider's callback route first: a fake provider calls back only once.
    for (const [method, path] of [
      ['POST', `/messages/delivery_status?token=${randomUUID()}.x`],
      ['GET', `/messages/${randomUUID()}`],
    ] as const)
      await waitUntil(
        `${method} ${path} to warm up`,
        async () =>
          (await gateway(method, path, { token, body: method === 'POST' ? {} : undefined })).status === 503
            ? undefined
            : true,
        90_000,
      );
    const warm = await startReceiver();
    try {
      let res = await send(warm.url, 'warm-up');
      for (let tries = 1; res.status === 503 && tries < 5; tries++) res = await send(warm.url, 'warm-up');
      expect(res.status).toBe(202);
      await waitUntil(
        'the warm-up callbacks',
        async () => (warm.received.some((r) => r.body.status === 'delivered') ? true : undefined),
        90_000,
      );
    } finally {
      await warm.stop();
    }
  }, 150_000);

  it('lists the new queue beside the others', async () => {
    const queues = await gateway('GET', '/__local/queues');
    expect(queues.body['dispatch-status-callbacks']).toMatchObject({ visible: expect.any(Number), dlq: 0 });
  });

  it('POSTs sent then delivered, once each, signed, with stable event ids; the history shows the outcomes', async () => {
    const receiver = await startReceiver();
    try {
      const res = await send(receiver.url);
      expect(res.status).toBe(202);
      const id = res.body.id as string;
      await waitUntil('the delivered callback', async () =>
        receiver.received.some((r) => r.body.status === 'delivered') ? true : undefined,
      );
      // Room for a duplicate to show up before counting.
      await new Promise((r) => setTimeout(r, 2_500));
      expect(receiver.received.map((r) => r.body.status)).toEqual(['sent', 'delivered']);
      for (const r of receiver.received) {
        expect(verifyWebhookSignature(secret, r.raw, r.signature), r.signature).toBe(true);
        expect(verifyWebhookSignature('another secret', r.raw, r.signature)).toBe(false);
        expect(r.body).toMatchObject({ id, at: expect.stringMatching(/Z$/), provider: expect.any(String) });
        expect(r.eventId).toBe(`${id}:${r.body.status}:1`);
      }
      const message = await gateway('GET', `/messages/${id}`, { token });
      expect(message.body.status_callback_url).toBe(receiver.url);
      const entries = (message.body.history as { status: string; detail?: string }[]).filter(
        (h) => h.status === 'sent' || h.status === 'delivered',
      );
      expect(entries.map((h) => h.detail)).toEqual([
        'status callback: answered 200 (attempt 1)',
        'status callback: answered 200 (attempt 1)',
      ]);
    } finally {
      await receiver.stop();
    }
  }, 60_000);

  it('retries a receiver that answered 500, and the callback arrives after the retry', async () => {
    const receiver = await startReceiver([500, 200]);
    try {
      const { body } = await send(receiver.url);
      await waitUntil('the delivered callback', async () =>
        receiver.acknowledged().some((r) => r.body.status === 'delivered') ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 2_500));
      expect(receiver.received[0]).toMatchObject({ status: 500, body: { status: 'sent' } });
      expect(receiver.acknowledged().map((r) => r.body.status)).toEqual(['sent', 'delivered']);
      // The retry is the same event: a receiver can dedupe on its id.
      expect(receiver.received[1]?.eventId).toBe(receiver.received[0]?.eventId);
      const sent = (await history(body.id)).find((h) => h.status === 'sent');
      expect(sent?.detail).toMatch(
        /^status callback: answered 500 \(attempt 1\); will retry; answered 200 \(attempt 2\)$/,
      );
    } finally {
      await receiver.stop();
    }
  }, 60_000);

  it('ends in the DLQ when the receiver is down for good, and a redrive delivers each status once', async () => {
    // A port nobody listens on (yet).
    const probe = await startReceiver();
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const url = `http://127.0.0.1:${port}/sms-status`;
    const { body } = await send(url);
    await waitUntil(
      'the callbacks to give up',
      async () => ((await history(body.id)).some((h) => /gave up/.test(h.detail ?? '')) ? true : undefined),
      60_000,
    );
    await waitUntil('the DLQ to hold the job', async () => {
      const queues = await gateway('GET', '/__local/queues');
      return queues.body['dispatch-status-callbacks'].dlq >= 1 ? true : undefined;
    });
    // The receiver's outage did not hold up the SMS itself: it was sent and delivered meanwhile.
    expect((await gateway('GET', `/messages/${body.id}`, { token })).body.status).toBe('delivered');
    const sent = (await history(body.id)).find((h) => h.status === 'sent');
    expect(sent?.detail).toMatch(/network error .*\(attempt \d\); gave up: in the DLQ until redriven/);

    // The receiver is back. Its breaker opened after these failures; in AWS it half-opens after
    // RECEIVER_BREAKER_OPEN_SECONDS and one probe goes through — here we do not wait for that.
    const receiver = await startReceiver([200], port);
    try {
      await dispatchDb()
        .entities.breaker.delete({ provider: receiverOf(url) })
        .go();
      const redrive = await gateway('POST', '/__local/queues/dispatch-status-callbacks/redrive');
      expect(redrive.status).toBe(200);
      expect(redrive.body.moved).toBeGreaterThanOrEqual(1);
      await waitUntil('the delivered callback', async () =>
        receiver.received.some((r) => r.body.status === 'delivered') ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 2_500));
      expect(receiver.received.map((r) => r.body.status)).toEqual(['sent', 'delivered']);
      for (const r of receiver.received)
        expect(verifyWebhookSignature(secret, r.raw, r.signature)).toBe(true);
    } finally {
      await receiver.stop();
    }
  }, 120_000);

  it.each([
    ['a private IP', 'https://10.1.2.3/hook', /loopback, private/],
    ['the metadata address', 'https://169.254.169.254/latest/meta-data', /loopback, private/],
    ['an IPv6 loopback', 'https://[::1]:8443/hook', /loopback, private/],
    ['a host name resolving to loopback', 'https://localhost:8443/hook', /resolves to a loopback/],
    ['http to a name other than 127.0.0.1', 'http://localhost:8080/hook', /must use https/],
    ['not a URL', 'callback please', /absolute URL/],
  ])('refuses %s with 422 under errors.status_callback_url', async (_, url, problem) => {
    const res = await send(url);
    expect(res.status).toBe(422);
    expect(res.body.error.errors.status_callback_url).toEqual([expect.stringMatching(problem)]);
  });
});

describe.skipIf(!ENABLED)('status callback URLs in a deployed-stage configuration', () => {
  let own: OwnRuntime | undefined;

  beforeAll(async () => {
    // The same system with the deployed rule: https to public addresses only.
    own = await startOwnRuntime([dispatchService], { settings: { statusCallbackLocalHttp: false } });
  }, 120_000);

  afterAll(async () => {
    await own?.stop();
  });

  it('refuses http://127.0.0.1 and accepts https to a public address', async () => {
    if (!own) throw new Error('no runtime');
    const issued = await own.call('POST', '/__local/token', { body: { scope: 'messages:send', sub: 'x' } });
    const call = (status_callback_url: string) =>
      own?.call('POST', '/messages', {
        token: issued.body.access_token,
        body: { to_number: uniqueNumber(), message: 'm', status_callback_url },
      });
    let local = await call('http://127.0.0.1:4000/hook');
    // A cold start on a busy machine can outlast the gateway's timeout (503); a 422 needs a warm function.
    for (let tries = 1; local?.status === 503 && tries < 5; tries++)
      local = await call('http://127.0.0.1:4000/hook');
    expect(local?.status).toBe(422);
    expect(local?.body.error.errors.status_callback_url).toEqual(['must use https']);
    const loopback = await call('https://127.0.0.1:4000/hook');
    expect(loopback?.status).toBe(422);
    // A public IP literal needs no DNS (the tests have no network).
    const accepted = await call('https://93.184.215.14/sms-status');
    expect(accepted?.status).toBe(202);
  }, 60_000);
});
