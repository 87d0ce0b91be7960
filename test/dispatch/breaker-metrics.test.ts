// Breaker openings and closings as metrics: one BreakerOpened per opening however many containers saw the
// failures (only the conditional write that opened it counts), and BreakerClosed when a success closes it.
import { randomUUID } from 'node:crypto';
import { dynamoCircuitBreaker } from '@svc/dispatch/breaker';
import { countBreakerTransition } from '@svc/dispatch/sender-setup';
import { flushMetrics } from '@svc/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { captureEmf } from '../support/emf.js';

const emf = captureEmf();
afterAll(() => emf.stop());

describe('breaker transitions', () => {
  it('count one opening across containers and the closing after it', async () => {
    const provider = `p${randomUUID().replace(/[\d-]/g, '').slice(0, 10)}`;
    const settings = { failureThreshold: 2, openMs: 1_000, onTransition: countBreakerTransition };
    const containers = Array.from({ length: 4 }, () => dynamoCircuitBreaker(settings));
    const t0 = Date.now();
    // Every container sees the provider fail at once, past the threshold.
    await Promise.all(
      containers.flatMap((b) => [b.recordFailure(provider, t0), b.recordFailure(provider, t0)]),
    );
    flushMetrics();
    expect(emf.sum('BreakerOpened', { provider })).toBe(1);
    expect(emf.find('BreakerOpened', { provider })[0]?.unit).toBe('Count');

    const one = containers[0] ?? dynamoCircuitBreaker(settings);
    const later = t0 + 2_000;
    expect((await one.phases([provider], later)).get(provider)).toBe('half-open');
    await one.recordSuccess(provider, later);
    flushMetrics();
    expect(emf.sum('BreakerClosed', { provider })).toBe(1);
    expect(emf.sum('BreakerOpened', { provider })).toBe(1);
  });
});
