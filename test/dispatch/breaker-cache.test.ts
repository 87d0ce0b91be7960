// The circuit breaker at scale (SPEC §8): state cached per container, failures counted locally until they
// can open it, a jittered open period, a ramp back after it closes, and the last known state when the
// table refuses the read. Domain functions as unit tests; the conditions against DynamoDB Local behind a
// proxy that can throttle the breaker reads.
import { randomUUID } from 'node:crypto';
import { dynamoCircuitBreaker, jitteredOpenMs, rampShare } from '@svc/dispatch/breaker';
import { dispatchDb } from '@svc/dispatch/entities';
import { afterAll, describe, expect, it } from 'vitest';
import { awsJsonAnswer, startAwsProxy } from '../support/aws-proxy.js';

const upstream = process.env.AWS_ENDPOINT_URL_DYNAMODB;
if (!upstream) throw new Error('the global setup exports AWS_ENDPOINT_URL_DYNAMODB');
const seen = { reads: 0, writes: 0, throttleReads: false };
const proxy = await startAwsProxy(upstream, {
  before: ({ operation }) => {
    if (operation === 'BatchGetItem') {
      seen.reads += 1;
      if (seen.throttleReads)
        return awsJsonAnswer(400, {
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'Injected: throttled.',
        });
    }
    if (operation === 'UpdateItem' || operation === 'PutItem') seen.writes += 1;
    return undefined;
  },
});
process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
afterAll(() => proxy.stop());

const settings = { failureThreshold: 3, openMs: 30_000, probeMs: 5_000 };
const stored = async (provider: string) =>
  (await dispatchDb().entities.breaker.get({ provider }).go({ consistent: true })).data;

describe('breaker domain rules', () => {
  it('jitters the open period within ±20 %', () => {
    expect(jitteredOpenMs(30_000, () => 0)).toBe(24_000);
    expect(jitteredOpenMs(30_000, () => 0.5)).toBe(30_000);
    expect(jitteredOpenMs(30_000, () => 0.999_999)).toBe(36_000);
  });

  it('ramps a closed provider from 10 % to 100 % of first choices', () => {
    expect(rampShare(undefined, 5, 1000)).toBe(1);
    expect(rampShare({ closedAt: 1000 }, 1000, 1000)).toBeCloseTo(0.1);
    expect(rampShare({ closedAt: 1000 }, 1500, 1000)).toBeCloseTo(0.55);
    expect(rampShare({ closedAt: 1000 }, 2000, 1000)).toBe(1);
    expect(rampShare({ closedAt: 1000 }, 1500, 0)).toBe(1);
  });
});

describe('cached DynamoDB breaker', () => {
  const cached = (random = () => 0.999) =>
    dynamoCircuitBreaker({ ...settings, cacheMs: 2000, rampMs: 10_000, random });

  it('reads the items once per cache period, and sees another container’s opening after it', async () => {
    const name = `p-${randomUUID()}`;
    const a = cached(() => 0); // keeps each read for half the period: 1 s
    const b = dynamoCircuitBreaker(settings);
    const t0 = 1_000_000;
    const before = seen.reads;
    expect((await a.phases([name], t0)).get(name)).toBe('closed');
    for (let i = 1; i < 10; i++) await a.phases([name], t0 + i * 100);
    expect(seen.reads - before).toBe(1);
    for (let i = 0; i < 3; i++) await b.recordFailure(name, t0 + 100);
    expect((await a.phases([name], t0 + 900)).get(name)).toBe('closed'); // still the cached state
    expect((await a.phases([name], t0 + 1001)).get(name)).toBe('open');
    expect(seen.reads - before).toBe(2);
  });

  it('counts failures locally and writes the shared item once, when they can open it', async () => {
    const name = `p-${randomUUID()}`;
    const a = cached();
    const t0 = 2_000_000;
    await a.phases([name], t0);
    const writes = seen.writes;
    await a.recordFailure(name, t0);
    await a.recordFailure(name, t0);
    expect(seen.writes - writes).toBe(0);
    expect(await stored(name)).toBeNull();
    await a.recordFailure(name, t0);
    const item = await stored(name);
    expect(item?.failures).toBe(3);
    expect(item?.openUntil).toBeGreaterThanOrEqual(t0 + 24_000);
    expect((await a.phases([name], t0 + 1)).get(name)).toBe('open');
    const opened = seen.writes;
    for (let i = 0; i < 20; i++) await a.recordFailure(name, t0 + 2);
    expect(seen.writes - opened).toBe(0); // known open: nothing more to write
  });

  it('keeps the last known state while the table refuses the read, closed when it knew none', async () => {
    const name = `p-${randomUUID()}`;
    const fresh = `p-${randomUUID()}`;
    const a = cached(() => 0);
    const t0 = 3_000_000;
    for (let i = 0; i < 3; i++) await a.recordFailure(name, t0);
    expect((await a.phases([name], t0 + 1)).get(name)).toBe('open');
    seen.throttleReads = true;
    try {
      const phases = await a.phases([name, fresh], t0 + 5000);
      expect(phases.get(name)).toBe('open');
      expect(phases.get(fresh)).toBe('closed');
    } finally {
      seen.throttleReads = false;
    }
  });

  it('closes after a successful probe and ramps back, as every container sees', async () => {
    const name = `p-${randomUUID()}`;
    const a = cached();
    const t0 = 4_000_000;
    for (let i = 0; i < 3; i++) await a.recordFailure(name, t0);
    const openUntil = (await stored(name))?.openUntil ?? 0;
    expect((await a.phases([name], openUntil + 1)).get(name)).toBe('half-open');
    expect(await a.tryProbe(name, openUntil + 1)).toBe(true);
    await a.recordSuccess(name, openUntil + 2);
    expect(a.share?.(name, openUntil + 2)).toBeCloseTo(0.1);
    const b = cached();
    expect((await b.phases([name], openUntil + 5002)).get(name)).toBe('closed');
    expect(b.share?.(name, openUntil + 5002)).toBeCloseTo(0.55);
    expect(b.share?.(name, openUntil + 10_002)).toBe(1);
  });

  // The breaker items are per-container keys in the heat model (test/bench/heat-keys.ts): their traffic
  // must grow with warm containers and time, never with the send rate. One container offers sends for the
  // same 60 simulated seconds at two rates to a provider that fails every other call (the local `flaky`
  // provider of the heat bench) or half its calls at random (which opens it again and again).
  it('costs a flaky provider the same reads and writes per minute at 10× the send rate', async () => {
    const cost = async (sends: number, fails: (i: number, random: () => number) => boolean) => {
      const name = `p-${randomUUID()}`;
      let seed = 7;
      const random = () => {
        seed = (seed * 48_271) % 2_147_483_647;
        return seed / 2_147_483_647;
      };
      const a = dynamoCircuitBreaker({ ...settings, cacheMs: 3000, rampMs: 30_000, random });
      const reads = seen.reads;
      const writes = seen.writes;
      let called = 0;
      const t0 = 5_000_000 + sends;
      for (let i = 0; i < sends; i++) {
        const now = t0 + Math.floor((i * 60_000) / sends);
        const phase = (await a.phases([name], now)).get(name);
        if (phase === 'open') continue;
        if (phase === 'half-open' && !(await a.tryProbe(name, now))) continue;
        if (fails(called++, random)) await a.recordFailure(name, now);
        else await a.recordSuccess(name, now);
      }
      return { called, reads: seen.reads - reads, writes: seen.writes - writes };
    };
    const alternate = (i: number) => i % 2 === 0;
    const coin = (_: number, random: () => number) => random() < 0.5;
    const runs = {
      alternate: [await cost(600, alternate), await cost(6000, alternate)],
      coin: [await cost(600, coin), await cost(6000, coin)],
    };
    // Every other call failing never makes 3 in a row: never opened, every send called it, nothing written.
    expect(runs.alternate.map((r) => [r.called, r.writes])).toEqual([
      [600, 0],
      [6000, 0],
    ]);
    // Half failing at random opens it: written on each opening (ADD, open), probe and close, a handful per
    // open period (24-36 s), the same at either rate.
    for (const r of runs.coin) {
      expect(r.writes).toBeGreaterThanOrEqual(2);
      expect(r.writes).toBeLessThanOrEqual(12);
    }
    // Reads: one per 1.5-3 s of kept state, at most 41 in 60 s, at either rate.
    for (const r of [...runs.alternate, ...runs.coin]) expect(r.reads).toBeLessThanOrEqual(41);
  });
});
