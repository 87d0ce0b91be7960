import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { captureEmf } from '../../../test/support/emf.js';
import { checkMetric, flushMetrics, MetricRejected, metrics, withMetrics } from './metrics.js';

const emf = captureEmf();
afterAll(() => emf.stop());
beforeEach(() => {
  flushMetrics();
  emf.clear();
});

describe('metrics port', () => {
  it('writes nothing until the flush, then one EMF line per dimension set with units and the service', () => {
    metrics.count('Sent', { provider: 'provider1' });
    metrics.count('Sent', { provider: 'provider1' });
    metrics.count('Sent', { provider: 'provider2' });
    metrics.durationMs('ProviderLatency', 42, { provider: 'provider1' });
    expect(emf.metrics()).toEqual([]);
    flushMetrics();
    const sent = emf.find('Sent');
    expect(sent.map((m) => m.dimensions.provider).sort()).toEqual(['provider1', 'provider2']);
    expect(emf.sum('Sent', { provider: 'provider1' })).toBe(2);
    expect(emf.find('ProviderLatency')).toEqual([
      expect.objectContaining({
        unit: 'Milliseconds',
        values: [42],
        dimensions: { service: expect.any(String), provider: 'provider1' },
      }),
    ]);
    expect(sent[0]?.unit).toBe('Count');
    // Flushed once: a second flush writes nothing more.
    flushMetrics();
    expect(emf.find('Sent')).toHaveLength(2);
  });

  it('rejects dimensions outside the allow-list at compile time and at run time (dropped, never thrown)', () => {
    // @ts-expect-error a user id is not a dimension
    expect(() => metrics.count('Visits', { user: 'alice' })).not.toThrow();
    // @ts-expect-error the service is every line's own, not a caller's
    metrics.count('Visits', { service: 'other' });
    expect(() => checkMetric('Visits', 1, { user: 'alice' })).toThrow(MetricRejected);
    expect(() => checkMetric('Visits', 1, { service: 'other' })).toThrow(MetricRejected);
    expect(() => checkMetric('Visits', 1, { messageId: 'x' })).toThrow(/not one of/);
    flushMetrics();
    expect(emf.metrics()).toEqual([]);
  });

  it('rejects high-cardinality values: phone numbers, ids, emails, long strings', () => {
    for (const value of [
      '+4915112345678',
      '4915112345678',
      '01JABCDEF0123456789XYZ',
      'e3b0c442-98fc-1c14-9afb-f4c8996fb924',
      'user@example.com',
      'msg-12345',
      'x'.repeat(41),
      '',
    ]) {
      expect(() => checkMetric('Sent', 1, { provider: value }), value).toThrow(MetricRejected);
      metrics.count('Sent', { provider: value });
    }
    expect(() => checkMetric('sent', 1)).toThrow(/PascalCase/);
    expect(() => checkMetric('Fees', Number.NaN)).toThrow(/finite/);
    metrics.count('sent');
    metrics.record('Fees', 'None', Number.NaN);
    flushMetrics();
    expect(emf.metrics()).toEqual([]);
  });

  it('withMetrics flushes once when the handler throws too', async () => {
    const failing = withMetrics(async () => {
      metrics.count('Attempts', { outcome: 'failed' });
      throw new Error('boom');
    });
    await expect(failing()).rejects.toThrow('boom');
    expect(emf.sum('Attempts', { outcome: 'failed' })).toBe(1);
  });
});
