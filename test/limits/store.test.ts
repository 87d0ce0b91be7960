// The limiter against DynamoDB Local: each rule fires at its threshold with the right Retry-After,
// recovers after its window, holds under concurrent takes from several instances, and counts per client.
import { randomUUID } from 'node:crypto';
import {
  dynamo,
  dynamoLimitStore,
  type LimitCheck,
  type LimitRule,
  routeLimiter,
  shardCaps,
} from '@svc/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Counts the DynamoDB calls made while `fn` runs (what a take costs). */
let calls = 0;
beforeAll(() => {
  dynamo().client.middlewareStack.add(
    (next) => async (args) => {
      calls += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
});
afterAll(() => dynamo().client.middlewareStack.remove('countCalls'));
async function cost<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const before = calls;
  const result = await fn();
  return { result, calls: calls - before };
}

/** A clock tests move by hand. */
function clock(startMs: number) {
  let t = startMs;
  return { now: () => t, set: (ms: number) => (t = ms), advance: (ms: number) => (t += ms) };
}

const check = (rule: LimitRule, client: string, prefix: string, amount?: number): LimitCheck => ({
  prefix,
  setting: 'test',
  client,
  rule,
  ...(amount !== undefined ? { amount } : {}),
});

const WINDOW_START = 1_800_000 * 900 * 1000; // an aligned 15-minute window start (ms)

describe('window limit', () => {
  const rule: LimitRule = { kind: 'window', limit: 5, windowSeconds: 900 };

  it('passes the limit, refuses the next with the seconds to the window end, recovers in the next window', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START + 100_500);
    const store = dynamoLimitStore(c.now);
    for (let i = 0; i < 5; i++)
      expect(await store.take(check(rule, 'ip-a', prefix))).toEqual({ allowed: true });
    const refused = await cost(() => store.take(check(rule, 'ip-a', prefix)));
    // 900 − 100.5 s left, rounded up to whole seconds; one conditional write, nothing else.
    expect(refused.result).toEqual({ allowed: false, retryAfterSeconds: 800 });
    expect(refused.calls).toBe(1);
    c.set(WINDOW_START + 899_999);
    expect(await store.take(check(rule, 'ip-a', prefix))).toEqual({ allowed: false, retryAfterSeconds: 1 });
    c.set(WINDOW_START + 900_000);
    expect(await store.take(check(rule, 'ip-a', prefix))).toEqual({ allowed: true });
  });

  it('counts per client: one client at its limit leaves another untouched', async () => {
    const prefix = `$t${randomUUID()}`;
    const store = dynamoLimitStore(clock(WINDOW_START).now);
    for (let i = 0; i < 6; i++) await store.take(check(rule, 'ip-a', prefix));
    expect(await store.take(check(rule, 'ip-b', prefix))).toEqual({ allowed: true });
  });

  it('holds under 30 concurrent takes from 6 instances: exactly the limit passes', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START + 10_000);
    const instances = Array.from({ length: 6 }, () => dynamoLimitStore(c.now));
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => instances[i % 6]?.take(check(rule, 'ip-a', prefix))),
    );
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(5);
    expect(decisions.filter((d) => d && !d.allowed && d.retryAfterSeconds === 890)).toHaveLength(25);
  });

  it('reset clears the count; refund gives one back and never goes below zero', async () => {
    const prefix = `$t${randomUUID()}`;
    const store = dynamoLimitStore(clock(WINDOW_START).now);
    for (let i = 0; i < 5; i++) await store.take(check(rule, 'e', prefix));
    await store.refund(check(rule, 'e', prefix));
    expect(await store.take(check(rule, 'e', prefix))).toEqual({ allowed: true });
    expect((await store.take(check(rule, 'e', prefix))).allowed).toBe(false);
    await store.reset(check(rule, 'e', prefix));
    for (let i = 0; i < 5; i++) expect((await store.take(check(rule, 'e', prefix))).allowed).toBe(true);
    await store.reset(check(rule, 'f', prefix));
    await store.refund(check(rule, 'f', prefix));
    for (let i = 0; i < 5; i++) expect((await store.take(check(rule, 'f', prefix))).allowed).toBe(true);
    expect((await store.take(check(rule, 'f', prefix))).allowed).toBe(false);
  });
});

describe('several window limits at once (takeAll, the login)', () => {
  const perIp: LimitRule = { kind: 'window', limit: 8, windowSeconds: 900 };
  const perEmail: LimitRule = { kind: 'window', limit: 3, windowSeconds: 600 };
  const limiterOf = (prefix: string, now: () => number) =>
    routeLimiter(
      [
        { setting: 'ip', per: 'custom' },
        { setting: 'email', per: 'custom' },
      ],
      dynamoLimitStore(now),
      { prefix, rules: { ip: perIp, email: perEmail } },
    );
  const both = (ip: string, email: string) => [
    { setting: 'ip', client: ip },
    { setting: 'email', client: email },
  ];

  it('refuses with one read and no write once either is full, with the later Retry-After', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START + 100_000);
    const limiter = limiterOf(prefix, c.now);
    for (let i = 0; i < 3; i++) await limiter.takeAll(both('ip-a', 'e1'));
    const refused = await cost(() => limiter.takeAll(both('ip-a', 'e1')).catch((e: unknown) => e));
    expect(refused.calls).toBe(1);
    // The email's 600 s window ends 500 s from now, the IP's 900 s one in 800 s; only the email is full.
    expect(refused.result).toMatchObject({ kind: 'throttled', retryAfterSeconds: 500 });
    // The refusal wrote nothing: the IP still has 8 − 3 = 5 to give, to other emails.
    for (let i = 0; i < 5; i++) await limiter.takeAll(both('ip-a', `e-other-${i}`));
    const ipFull = await cost(() => limiter.takeAll(both('ip-a', 'e-fresh')).catch((e: unknown) => e));
    expect(ipFull).toMatchObject({ calls: 1, result: { kind: 'throttled', retryAfterSeconds: 800 } });
    // Both full: the later of the two.
    expect(await limiter.takeAll(both('ip-a', 'e1')).catch((e: unknown) => e)).toMatchObject({
      retryAfterSeconds: 800,
    });
  });

  it('holds under 30 concurrent logins for one email from 6 instances: exactly its limit passes', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START + 10_000);
    const limiters = Array.from({ length: 6 }, () => limiterOf(prefix, c.now));
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        limiters[i % 6]?.takeAll(both(`ip-${i}`, 'e1')).then(
          () => 'passed',
          () => 'refused',
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'passed')).toHaveLength(3);
  });
});

describe('token bucket', () => {
  const rule: LimitRule = { kind: 'bucket', ratePerSecond: 2, burst: 5 };

  it('passes a burst, refuses the next with Retry-After, refills at the rate', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START);
    const store = dynamoLimitStore(c.now);
    for (let i = 0; i < 5; i++) expect((await store.take(check(rule, 'sub-a', prefix))).allowed).toBe(true);
    const refused = await cost(() => store.take(check(rule, 'sub-a', prefix)));
    expect(refused.result).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(refused.calls).toBe(1);
    c.advance(500); // one token back at 2 per second
    expect((await store.take(check(rule, 'sub-a', prefix))).allowed).toBe(true);
    expect((await store.take(check(rule, 'sub-a', prefix))).allowed).toBe(false);
    c.advance(10_000); // idle: the bucket is full again, not fuller
    const again = [];
    for (let i = 0; i < 6; i++) again.push((await store.take(check(rule, 'sub-a', prefix))).allowed);
    expect(again).toEqual([true, true, true, true, true, false]);
  });

  it('Retry-After is the whole seconds until a token is back', async () => {
    const prefix = `$t${randomUUID()}`;
    const slow: LimitRule = { kind: 'bucket', ratePerSecond: 1, burst: 1 };
    const c = clock(WINDOW_START);
    const store = dynamoLimitStore(c.now);
    expect((await store.take(check(slow, 's', prefix))).allowed).toBe(true);
    expect(await store.take(check(slow, 's', prefix))).toEqual({ allowed: false, retryAfterSeconds: 1 });
    c.advance(999);
    expect((await store.take(check(slow, 's', prefix))).allowed).toBe(false);
    c.advance(1);
    expect((await store.take(check(slow, 's', prefix))).allowed).toBe(true);
  });

  it('counts Retry-After from when it refuses, not from a clock read long before (a loaded container)', async () => {
    const prefix = `$t${randomUUID()}`;
    const fast: LimitRule = { kind: 'bucket', ratePerSecond: 20, burst: 5 };
    const t0 = WINDOW_START;
    // Another container spends the burst 1.5 s after this one read its clock for the next take.
    const other = dynamoLimitStore(() => t0 + 1500);
    for (let i = 0; i < 5; i++) expect((await other.take(check(fast, 'sub-a', prefix))).allowed).toBe(true);
    let reads = 0;
    const late = dynamoLimitStore(() => (reads++ === 0 ? t0 : t0 + 1500));
    // The bucket is 50 ms from room as of now: 1 s, not the 2 s its stale reading would give.
    expect(await late.take(check(fast, 'sub-a', prefix))).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('holds under 30 concurrent takes from 6 instances (frozen clock): exactly the burst passes', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(WINDOW_START);
    const instances = Array.from({ length: 6 }, () => dynamoLimitStore(c.now));
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => instances[i % 6]?.take(check(rule, 'sub-a', prefix))),
    );
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(5);
    expect(await instances[0]?.take(check(rule, 'sub-b', prefix))).toEqual({ allowed: true });
  });
});

describe('sharded window (the daily segment cap)', () => {
  const rule: LimitRule = { kind: 'sharded', limit: 50, windowSeconds: 86_400, shards: 5 };
  const DAY = 20_000 * 86_400 * 1000;

  it('splits the limit over the shards exactly', () => {
    expect(shardCaps(50, 5)).toEqual([10, 10, 10, 10, 10]);
    expect(shardCaps(10_000, 3)).toEqual([3334, 3333, 3333]);
    expect(shardCaps(10_000, 3).reduce((a, b) => a + b)).toBe(10_000);
  });

  it('never passes the limit under 30 concurrent takes from 6 instances; then refuses until the UTC day ends', async () => {
    const prefix = `$t${randomUUID()}`;
    const c = clock(DAY + 3600_000);
    const instances = Array.from({ length: 6 }, () => dynamoLimitStore(c.now));
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => instances[i % 6]?.take(check(rule, 'stage', prefix, 2))),
    );
    const accepted = decisions.filter((d) => d?.allowed).length * 2;
    expect(accepted).toBeLessThanOrEqual(50);
    // Only races for the last room of a shard refuse early (Retry-After 1); measured: all 50 taken.
    expect(accepted).toBeGreaterThanOrEqual(40);
    // Top up whatever the races left, then the cap is reached: refused until midnight UTC (23 h).
    for (let i = 0; i < 10; i++) await instances[0]?.take(check(rule, 'stage', prefix, 2));
    const refused = await instances[1]?.take(check(rule, 'stage', prefix, 2));
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 23 * 3600 });
    // That instance now knows the day is full: no DynamoDB call at all for the rest of it.
    const after = await cost(() => instances[1]?.take(check(rule, 'stage', prefix, 1)) as Promise<unknown>);
    expect(after).toEqual({ result: { allowed: false, retryAfterSeconds: 23 * 3600 }, calls: 0 });
    c.set(DAY + 86_400_000);
    expect(await instances[1]?.take(check(rule, 'stage', prefix, 2))).toEqual({ allowed: true });
  });

  it('a full shard sends the take to the shard with the most room (one read), so the whole limit is usable', async () => {
    const prefix = `$t${randomUUID()}`;
    // Every take first tries shard 0.
    const store = dynamoLimitStore(clock(DAY).now, () => 0);
    let accepted = 0;
    for (let i = 0; i < 30; i++)
      if ((await store.take(check(rule, 'stage', prefix, 2))).allowed) accepted += 2;
    expect(accepted).toBe(50);
    expect((await store.take(check(rule, 'stage', prefix, 1))).allowed).toBe(false);
  });

  it('a take larger than any shard’s room is refused although smaller ones still fit', async () => {
    const prefix = `$t${randomUUID()}`;
    const store = dynamoLimitStore(clock(DAY).now);
    const r: LimitRule = { kind: 'sharded', limit: 20, windowSeconds: 86_400, shards: 2 };
    expect((await store.take(check(r, 'stage', prefix, 9))).allowed).toBe(true);
    expect((await store.take(check(r, 'stage', prefix, 9))).allowed).toBe(true);
    // 1 left in each shard: 2 segments fit nowhere (the design's undershoot: < shards × largest take).
    expect((await store.take(check(r, 'stage', prefix, 2))).allowed).toBe(false);
    expect((await store.take(check(r, 'stage', prefix, 1))).allowed).toBe(true);
  });
});
