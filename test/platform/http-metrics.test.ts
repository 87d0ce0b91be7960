import { defineRoute, httpHandler, type LimitStore } from '@svc/platform';
import * as v from 'valibot';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, invoke } from '../support/api-event.js';
import { captureEmf } from '../support/emf.js';

/**
 * The shared HTTP stack writes every request's ApiRequests (by route and status class) and ApiLatency, and
 * each 429 a limit answers as LimitHits by the limit's name: one EMF flush per invocation.
 */
const emf = captureEmf();
afterAll(() => emf.stop());
beforeEach(() => emf.clear());

const route = defineRoute({
  method: 'POST',
  path: '/fixture/{id}',
  functionName: 'FixtureMetrics',
  handler: 'none',
  summary: 'fixture',
  auth: { kind: 'public' },
  request: { path: v.object({ id: v.string() }) },
  responses: { 200: null },
  access: {},
  limits: [{ setting: 'messagesPerCaller', per: 'source-ip' }],
  bodyless: true,
});
const rules = { messagesPerCaller: { kind: 'bucket', ratePerSecond: 1, burst: 1 } };
process.env.RATE_LIMITS = JSON.stringify({ prefix: '$fixture', rules });

let allow = true;
const store: LimitStore = {
  take: async () => (allow ? { allowed: true } : { allowed: false, retryAfterSeconds: 3 }),
  peek: async () => ({ allowed: true }),
  reset: async () => undefined,
  refund: async () => undefined,
};
const handler = httpHandler(
  route,
  async ({ path }) => {
    if (path.id === 'boom') throw new Error('unexpected');
    return { status: 200, body: { ok: true } };
  },
  { limitStore: store },
);
const call = (id: string) =>
  invoke(handler, apiEvent({ method: 'POST', route: '/fixture/{id}', pathParameters: { id } }));

describe('HTTP stack metrics', () => {
  it('counts a success, a 5xx and a 429 per route and status class, and the 429 per limit', async () => {
    allow = true;
    expect((await call('a')).status).toBe(200);
    expect((await call('boom')).status).toBe(500);
    allow = false;
    expect((await call('a')).status).toBe(429);

    expect(emf.sum('ApiRequests', { route: 'FixtureMetrics', outcome: 'success' })).toBe(1);
    expect(emf.sum('ApiRequests', { route: 'FixtureMetrics', outcome: 'server_error' })).toBe(1);
    expect(emf.sum('ApiRequests', { route: 'FixtureMetrics', outcome: 'client_error' })).toBe(1);
    expect(emf.find('LimitHits')).toEqual([
      expect.objectContaining({
        unit: 'Count',
        values: [1],
        dimensions: { service: expect.any(String), limit: 'messagesPerCaller' },
      }),
    ]);
    const latency = emf.find('ApiLatency', { route: 'FixtureMetrics' });
    expect(latency).toHaveLength(3);
    expect(latency.every((m) => m.unit === 'Milliseconds')).toBe(true);
    // One flush per invocation: three requests, three ApiLatency lines, one value each.
    expect(latency.every((m) => m.values.length === 1)).toBe(true);
  });
});
