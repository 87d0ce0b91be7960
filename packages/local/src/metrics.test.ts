import { describe, expect, it } from 'vitest';
import { LocalMetrics } from './metrics.js';

const emf = (values: Record<string, unknown>, dimensions: string[], metrics: [string, string][]) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'Svc/local',
          Dimensions: [dimensions],
          Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })),
        },
      ],
    },
    ...values,
  });

describe('LocalMetrics', () => {
  it('adds up EMF lines per metric and dimension set, and ignores every other line', () => {
    const m = new LocalMetrics();
    m.observe(
      'A',
      emf(
        { service: 'dispatch', provider: 'p1', SmsSent: 1 },
        ['service', 'provider'],
        [['SmsSent', 'Count']],
      ),
    );
    m.observe(
      'B',
      emf(
        { service: 'dispatch', provider: 'p1', SmsSent: [1, 1] },
        ['service', 'provider'],
        [['SmsSent', 'Count']],
      ),
    );
    m.observe(
      'A',
      emf(
        { service: 'dispatch', provider: 'p2', SmsSent: 1 },
        ['service', 'provider'],
        [['SmsSent', 'Count']],
      ),
    );
    m.observe('A', emf({ service: 'dispatch', Lat: [5, 15] }, ['service'], [['Lat', 'Milliseconds']]));
    m.observe('A', '{"level":"INFO","message":"request"}');
    m.observe('A', 'not json "_aws"');
    const { lines, metrics } = m.snapshot();
    expect(lines).toBe(4);
    expect(metrics.find((x) => x.name === 'SmsSent' && x.dimensions.provider === 'p1')).toMatchObject({
      unit: 'Count',
      samples: 3,
      sum: 3,
      functions: ['A', 'B'],
    });
    expect(metrics.find((x) => x.name === 'Lat')).toMatchObject({ samples: 2, sum: 20, min: 5, max: 15 });
    m.reset();
    expect(m.snapshot()).toEqual({ lines: 0, metrics: [] });
  });
});
