import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, dynamoIdempotencyStore, fingerprintOf } from './idempotency.js';

describe('canonicalJson', () => {
  it('ignores key order but not values', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(
      canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }),
    );
    expect(fingerprintOf([{ a: 1 }])).not.toBe(fingerprintOf([{ a: 2 }]));
  });
});

describe('dynamoIdempotencyStore (DynamoDB Local)', () => {
  const store = dynamoIdempotencyStore();

  it('lets exactly one of many concurrent first requests run', async () => {
    const key = randomUUID();
    const results = await Promise.allSettled(Array.from({ length: 15 }, () => store.start(key, 'fp')));
    const started = results.filter((r) => r.status === 'fulfilled' && r.value.state === 'new');
    const blocked = results.filter((r) => r.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(blocked).toHaveLength(14);
    for (const r of blocked) expect((r as PromiseRejectedResult).reason).toMatchObject({ kind: 'conflict' });
  });

  it('replays a completed response and refuses another fingerprint with 422', async () => {
    const key = randomUUID();
    await store.start(key, 'fp');
    await store.complete(key, 'fp', { status: 201, body: { id: 1 } });
    expect(await store.start(key, 'fp')).toEqual({
      state: 'replay',
      response: { status: 201, body: { id: 1 } },
    });
    await expect(store.start(key, 'other')).rejects.toMatchObject({ kind: 'validation' });
  });

  it('frees a released key for a retry', async () => {
    const key = randomUUID();
    await store.start(key, 'fp');
    await store.release(key);
    expect(await store.start(key, 'fp')).toEqual({ state: 'new' });
  });

  it('takes over an abandoned in-progress key after its lock expires', async () => {
    const key = randomUUID();
    let now = Date.now();
    const clockStore = dynamoIdempotencyStore(() => now);
    await clockStore.start(key, 'fp');
    now += 61_000;
    expect(await clockStore.start(key, 'fp')).toEqual({ state: 'new' });
  });
});
