import { randomUUID } from 'node:crypto';
import { assistanceService } from '@svc/assistance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRuntime, startOwnRuntime } from '../dispatch/support.js';
import { gateway } from '../support/gateway.js';

/** End to end through the local runtime: gateway → handler → DynamoDB → SQS → channel Lambda → fakes. */

const call = (method: string, path: string, body?: unknown, token?: string) =>
  gateway(method, path, { body, ...(token ? { token } : {}) });

async function tokenFor(sub: string, scope = 'request-assistance'): Promise<string> {
  return (await call('POST', '/__local/token', { scope, sub })).body.access_token;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const outbox = async () => (await call('GET', '/__local/outbox')).body;

describe.skipIf(!process.env.LOCAL_GATEWAY_URL)('assistance end to end (local runtime)', () => {
  it('delivers a sales request to the fake Slack once', async () => {
    const token = await tokenFor(`e2e-${randomUUID()}`);
    const created = await call(
      'POST',
      '/assistance',
      { topic: 'Sales', description: 'Quote for <40> seats & more' },
      token,
    );
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ topic: 'sales', channel: 'slack', status: 'queued' });
    const id: string = created.body.id;
    const state = await until(
      () => call('GET', `/assistance/${id}`, undefined, token),
      (r) => r.body?.status !== 'queued',
    );
    expect(state.body).toMatchObject({ id, channel: 'slack', status: 'delivered', attempts: 1 });
    const posts = ((await outbox()).slack as { blocks: unknown }[]).filter((p) =>
      JSON.stringify(p.blocks).includes(id),
    );
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]?.blocks)).toContain('Quote for &lt;40&gt; seats &amp; more');
  });

  it('mails a pricing request through local SES', async () => {
    const token = await tokenFor(`e2e-${randomUUID()}`);
    const created = await call('POST', '/assistance', { topic: 'pricing', description: 'How much?' }, token);
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    const state = await until(
      () => call('GET', `/assistance/${id}`, undefined, token),
      (r) => r.body?.status !== 'queued',
    );
    expect(state.body).toMatchObject({ channel: 'email', status: 'delivered' });
    const mails = ((await outbox()).email as { body: string; subject: string }[]).filter((m) =>
      m.body.includes(id),
    );
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toBe('Assistance request: pricing');
  });

  it('answers 422 with the known topics, 401 without a token, 403 without the scope, 404 to others', async () => {
    const token = await tokenFor('e2e-a');
    const unknown = await call('POST', '/assistance', { topic: 'refunds', description: 'x' }, token);
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.errors.topic[0]).toMatch(/sales, pricing/);
    expect((await call('POST', '/assistance', { topic: 'sales', description: 'x' })).status).toBe(401);
    const unscoped = await tokenFor('e2e-a', 'something-else');
    expect((await call('POST', '/assistance', { topic: 'sales', description: 'x' }, unscoped)).status).toBe(
      403,
    );
    const mine = await call('POST', '/assistance', { topic: 'sales', description: 'x' }, token);
    const theirs = await call('GET', `/assistance/${mine.body.id}`, undefined, await tokenFor('e2e-b'));
    expect(theirs.status).toBe(404);
  });
});

/**
 * Switching the fake Slack down is global state of a runtime, so this runs on a runtime of its own
 * (the same system `pnpm dev` starts), never on the one the global setup shares between test files.
 */
describe.skipIf(!process.env.AWS_ENDPOINT_URL_DYNAMODB)(
  'assistance fallback end to end (own runtime)',
  () => {
    let own: OwnRuntime;
    const ownCall = (method: string, path: string, body?: unknown, token?: string) =>
      own.call(method, path, { body, ...(token ? { token } : {}) });
    const ownToken = async (sub: string) =>
      (await ownCall('POST', '/__local/token', { scope: 'request-assistance', sub })).body
        .access_token as string;
    const settled = (id: string, token: string, timeoutMs: number) =>
      until(
        () => ownCall('GET', `/assistance/${id}`, undefined, token),
        (r) => r.body?.status === 'delivered' || r.body?.status === 'failed',
        timeoutMs,
      );

    beforeAll(async () => {
      own = await startOwnRuntime([assistanceService]);
      // One request per channel first: every function pays its cold start here, not inside the test.
      const token = await ownToken('warm-up');
      for (const topic of ['pricing', 'sales']) {
        const created = await ownCall('POST', '/assistance', { topic, description: 'warm-up' }, token);
        if (created.status === 202) await settled(created.body.id, token, 90_000);
      }
    }, 200_000);

    afterAll(async () => {
      await own?.stop();
    });

    it('falls back to email when Slack keeps failing, and posts nothing to Slack', async () => {
      const token = await ownToken(`e2e-${randomUUID()}`);
      await ownCall('POST', '/__local/slack', { mode: 'down' });
      try {
        const created = await ownCall(
          'POST',
          '/assistance',
          { topic: 'sales', description: 'Slack is down' },
          token,
        );
        const id: string = created.body.id;
        const state = await settled(id, token, 40_000);
        expect(state.body).toMatchObject({ channel: 'email', status: 'delivered' });
        expect(state.body.attempts).toBeGreaterThanOrEqual(2);
        const box = (await ownCall('GET', '/__local/outbox')).body;
        expect((box.email as { body: string }[]).filter((m) => m.body.includes(id))).toHaveLength(1);
        expect(
          (box.slack as { blocks: unknown }[]).filter((p) => JSON.stringify(p.blocks).includes(id)),
        ).toHaveLength(0);
      } finally {
        await ownCall('POST', '/__local/slack', { mode: 'ok' });
      }
    }, 60_000);
  },
);
