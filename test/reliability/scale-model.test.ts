// The scale model (SPEC §8, issue 16): DynamoDB's per-partition limits and the workload scaled down by the
// same factor, 1,000: 1 WCU and 3 RCU per partition key value per second, in the base table and in every
// index (enforced by the heat proxy of test/bench/heat-proxy.ts in front of DynamoDB Local), while the
// workload runs at 10 requests/s (10,000/s ÷ 1,000) from many users. A layout with a hot key is refused past
// its budget here (503 from the handlers, or a consumer falling behind); a sharded one is not. Checked after
// the run: no 5xx, no throttled key at all, every accepted visit stored in the right state and listed exactly
// while requested, every message delivered and accepted by a provider exactly once.
import { randomUUID } from 'node:crypto';
import { dispatchService } from '@svc/dispatch';
import { ensureTable } from '@svc/local/dynamodb';
import { startLocalRuntime } from '@svc/local/runtime';
import { visitsService } from '@svc/visits';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeatProxy, startHeatProxy } from '../bench/heat-proxy.js';
import { call } from '../support/gateway.js';
import { TEST_LIMITS } from '../support/limits.js';
import { waitUntil } from '../support/wait.js';
import { SCALE_LIMITS, SCALE_RATE, SCALE_SECONDS } from './scale-model-noise.js';

/**
 * Why each key's budget is a token bucket holding 25 s of its rate, not a hard one-second window:
 * - A hard window at ÷1,000 holds about one request per key: a single write of 2 WCU (a transaction, an item
 *   over 1 KB) is more than a whole second's budget, and one message's own lifecycle (stored, claimed, sent,
 *   delivered within a second: ~5 WCU on its own item) is refused, although at full scale it is 0.5 % of that
 *   item's second. Such per-entity bursts do not shrink with the scale factor; the bucket must hold them.
 *   (Tried at stop 13 with a hard 1 WCU / 3 RCU window: the send path answered 503s, and a throttled delivery
 *   callback, which the local provider never repeats, left messages `sent` for good.)
 * - A key shared by the traffic (a shard, a limiter) sees Poisson noise: ~1 write per second here against
 *   1,000 at full scale, so its count per window varies by ~40 % instead of ~3 %. The workload cannot simply
 *   run faster: at 100 requests/s this 2-core machine drove 600 requests asked for over 6 s in 85 s through
 *   the local runtime. So the bucket absorbs the noise, and the run is long enough to still catch a hot key:
 *   the sizes come from a simulation of this workload (scale-model-noise.ts, held to its odds by
 *   scale-model-noise.test.ts). With stop 23's 10 s bucket over 24 s, the visit list's 32 shards, at under
 *   half their budget, were refused by chance in ~15 % of runs (CI failed on it); with 25 s over 48 s, in
 *   ~0.01 %, while a key at 2× its budget is still refused in ~97 % of runs and at 3× in all.
 */
const LIMITS = SCALE_LIMITS;
const RATE = SCALE_RATE;
const SECONDS = SCALE_SECONDS;

let proxy: HeatProxy | undefined;
let runtime: Awaited<ReturnType<typeof startLocalRuntime>> | undefined;
const http = (method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
  if (!runtime) throw new Error('no runtime');
  return call(runtime.url, method, path, options);
};
const phase = (what: string) =>
  process.env.SCALE_DEBUG && console.error(`${new Date().toISOString()} ${what}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const date = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) throw new Error('run through vitest');
  const tableName = `svc-scale-${randomUUID().slice(0, 8)}`;
  await ensureTable(endpoint, tableName);
  proxy = await startHeatProxy(endpoint);
  runtime = await startLocalRuntime({
    port: 0,
    services: [visitsService, dispatchService],
    dynamodbEndpoint: proxy.endpoint,
    tableName,
    schedules: false,
    logLevel: 'ERROR',
    // SCALE_DEBUG=1: the runtime's own lines too (invocations that failed or timed out).
    log: (fn, line) => {
      if (process.env.SCALE_DEBUG && !line.startsWith('{')) phase(`[${fn}] ${line}`);
    },
    callbackDelayMs: 20,
    // Registrations at the test stage's cheap password hash (the setup, not what this measures), and the
    // provider timeout of prod (3 s) instead of the local stage's 1 s: the local fake answers at once, but
    // on a loaded machine its answer can take over a second to reach the sender, which then fails over
    // (SPEC §5: a timeout moves on to the other provider) although the first one accepted: a second SMS
    // that has nothing to do with the partitions this test is about.
    stage: { limits: TEST_LIMITS, settings: { passwordScryptLog2N: 10, providerTimeoutMs: 3000 } },
  });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await proxy?.stop();
});

// Part of `pnpm test` (issue 16 asks for it in CI): it starts its own runtime and takes ~100 s alone on the
// shared 2-core machine, about half of it the setup and warm-up (SCALE_DEBUG=1 prints the phases).
describe('scale model: per-key limits and workload both ÷ 1,000 (10 requests/s)', () => {
  it('visits request/list/complete and the SMS pipeline from many users: no 5xx, nothing lost, one acceptance per message', async () => {
    const heat = proxy as HeatProxy;
    // Setup without limits (registrations from one address are that address's own per-entity bound).
    const users = [];
    // Many users, each well inside their own per-entity bound: a member's visit request costs ~2 WCU on the
    // member's own partition, so 40 members share 5 requests/s (~0.25 WCU/s each, a quarter of the budget).
    for (let i = 0; i < 56; i++) {
      const reg = await http('POST', '/api/auth/registration', {
        body: {
          email: `scale-${randomUUID()}@example.com`,
          password: 'correct horse battery',
          first_name: 'S',
          last_name: 'M',
        },
      });
      expect(reg.status).toBe(201);
      const token = reg.body.data.access_token as string;
      const me = await http('GET', '/api/user', { token });
      users.push({ id: me.body.data.id as string, token });
    }
    phase('registered');
    const members = users.slice(0, 40);
    const pals = users.slice(40);
    const senders = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const issued = await http('POST', '/__local/token', {
          body: { scope: 'messages:send messages:read', sub: `scale-${i}-${randomUUID()}` },
        });
        return issued.body.access_token as string;
      }),
    );
    // Warm every function, a few instances each (a cold start on a loaded machine can take seconds: not
    // what this measures), and the SMS consumers with one delivered message per sender.
    const warmVisits = await Promise.all(
      members.slice(0, 4).map((m) =>
        http('POST', '/api/visit', {
          token: m.token,
          body: { date: date(30), minutes: 1, tasks: [{ name: 'warm' }] },
        }),
      ),
    );
    await Promise.all(
      warmVisits.map((v, i) =>
        http('PUT', `/api/visit/${v.body.data.id}/complete`, { token: pals[i]?.token }),
      ),
    );
    await Promise.all(
      pals.map((p) => http('GET', '/api/visit?status=requested&limit=20', { token: p.token })),
    );
    await Promise.all(
      warmVisits.map((v) => http('GET', `/api/visit/${v.body.data.id}`, { token: pals[0]?.token })),
    );
    const warmSms = await Promise.all(
      senders
        .slice(0, 4)
        .map((t, i) =>
          http('POST', '/messages', { token: t, body: { to_number: `+1415557000${i}`, message: 'warm' } }),
        ),
    );
    await waitUntil(
      'the warm-up messages to be delivered',
      async () => {
        for (const m of warmSms)
          if (
            (await http('GET', `/messages/${m.body.id}`, { token: senders[0] })).body?.status !== 'delivered'
          )
            return undefined;
        return true;
      },
      90_000,
    );
    phase('warm');
    heat.setLimits(LIMITS);
    heat.reset();
    const fivexx: string[] = [];
    const visits: { id: string; member: number }[] = [];
    const messages: string[] = [];
    const completed = new Set<string>();
    const started = Date.now();
    const jobs: Promise<void>[] = [];
    // Each kind of request goes round its own users (the tick alone would pick a quarter of them).
    const turns = [0, 0, 0, 0];
    for (let tick = 0; tick < RATE * SECONDS; tick++) {
      const at = started + (tick * 1000) / RATE;
      await sleep(Math.max(0, at - Date.now()));
      const kind = tick % 4;
      const turn = turns[kind === 2 ? 0 : kind] ?? 0;
      turns[kind === 2 ? 0 : kind] = turn + 1;
      const job = (async () => {
        if (kind === 0 || kind === 2) {
          const m = turn % members.length;
          const res = await http('POST', '/api/visit', {
            token: members[m]?.token,
            body: {
              date: date(1 + (tick % 20)),
              minutes: 1,
              tasks: [{ name: 'walk', description: 'the dog' }],
            },
          });
          if (res.status >= 500) fivexx.push(`request ${res.status}`);
          else {
            expect(res.status).toBe(201);
            visits.push({ id: res.body.data.id, member: m });
          }
        } else if (kind === 1) {
          const pal = pals[turn % pals.length];
          const list = await http('GET', '/api/visit?status=requested&limit=20', { token: pal?.token });
          if (list.status >= 500) return void fivexx.push(`list ${list.status}`);
          expect(list.status).toBe(200);
          const open = visits.find((v) => !completed.has(v.id));
          if (!open) return;
          completed.add(open.id);
          const done = await http('PUT', `/api/visit/${open.id}/complete`, { token: pal?.token });
          if (done.status >= 500) fivexx.push(`complete ${done.status}`);
          else expect(done.status).toBe(200);
        } else {
          const res = await http('POST', '/messages', {
            token: senders[turn % senders.length],
            body: {
              to_number: `+1415556${String(1000 + tick).padStart(4, '0')}`,
              message: `scale ${tick}`,
            },
          });
          if (res.status >= 500) fivexx.push(`send ${res.status}`);
          else {
            expect(res.status).toBe(202);
            messages.push(res.body.id);
          }
        }
      })();
      jobs.push(
        job
          // A request the gateway never answered is as much a failure as a 5xx (named, not thrown: the
          // other requests still run, and the checks below say which).
          .catch((error: Error & { cause?: { code?: string } }) => {
            fivexx.push(
              `${['request', 'list', 'request', 'send'][kind]}: ${error.cause?.code ?? error.message}`,
            );
          })
          .finally(() => phase(`job ${tick} (${kind}) done`)),
      );
    }
    const offeredMs = Date.now() - started;
    await Promise.all(jobs);
    const measuredMs = Date.now() - started;
    phase(
      `offered over ${offeredMs} ms, answered by ${measuredMs} ms, ${fivexx.length} 5xx: ${fivexx.join(', ')}`,
    );
    phase(`throttled: ${JSON.stringify([...heat.cells].filter(([, c]) => c.throttled > 0))}`);
    // How close the keys that were not refused came to it (share of their bucket left at the lowest).
    const closest = [...heat.cells].sort(([, a], [, b]) => (a.lowest ?? 1) - (b.lowest ?? 1)).slice(0, 5);
    phase(`closest: ${closest.map(([k, c]) => `${k} ${(c.lowest ?? 1).toFixed(2)}`).join(', ')}`);
    // A 5xx first, as the clearest failure (a refused completion also leaves its visit requested below).
    expect(fivexx).toEqual([]);
    // Nothing lost, and caught up promptly: every message reaches delivered within 30 s of the last answer.
    const undelivered = async () => {
      const left = [];
      for (const id of messages) {
        const m = (await http('GET', `/messages/${id}`, { token: senders[0] })).body;
        if (m?.status !== 'delivered') left.push(m);
      }
      return left;
    };
    await waitUntil(
      'every message to be delivered',
      async () => ((await undelivered()).length === 0 ? true : undefined),
      30_000,
      500,
    ).catch(async (error: unknown) => {
      phase(`not delivered: ${JSON.stringify(await undelivered())}`);
      throw error;
    });
    phase('delivered');
    heat.setLimits(undefined);
    const outbox = (await http('GET', '/__local/outbox')).body.sms as {
      callback_url?: string;
      status_code: number;
    }[];
    for (const id of messages) {
      const accepted = outbox.filter((c) => c.status_code === 200 && c.callback_url?.includes(id));
      if (accepted.length !== 1)
        phase(
          `${id}: ${JSON.stringify(accepted)} ${JSON.stringify((await http('GET', `/messages/${id}`, { token: senders[0] })).body)}`,
        );
      expect(accepted, id).toHaveLength(1);
    }
    // Every accepted visit is stored, completed exactly where a pal completed it.
    for (const v of visits) {
      const got = await http('GET', `/api/visit/${v.id}`, { token: pals[0]?.token });
      expect(got.body.data.status).toBe(completed.has(v.id) ? 'completed' : 'requested');
    }
    const listed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await http(
        'GET',
        `/api/visit?status=requested&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        { token: pals[0]?.token },
      );
      for (const v of page.body.data) listed.add(v.id);
      cursor = page.body.next_cursor;
    } while (cursor);
    for (const v of visits) expect(listed.has(v.id)).toBe(!completed.has(v.id));

    const throttled = [...heat.cells]
      .filter(([, c]) => c.throttled > 0)
      .map(([k, c]) => `${k}: ${c.throttled}`);
    // Every key within its budget: shared keys (shards, the daily limiter, index partitions) and each user's,
    // caller's and message's own (this workload keeps every entity inside its per-entity bound).
    expect({ fivexx, throttled }).toEqual({ fivexx: [], throttled: [] });

    expect(visits.length).toBeGreaterThan(RATE * SECONDS * 0.4);
    expect(messages.length).toBeGreaterThan(RATE * SECONDS * 0.2);
    // And the model ran at its rate: requests offered on schedule (a machine too busy to keep the pace would
    // have tested a lower rate than 10,000/s ÷ 1,000 and proven less).
    expect(offeredMs).toBeLessThan(SECONDS * 1000 * 1.25);
  }, 300_000);
});
