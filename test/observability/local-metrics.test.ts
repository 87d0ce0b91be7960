// The metrics without AWS (issue 19): the functions' EMF lines, summed by the local runtime, at
// GET /__local/metrics of the gateway `pnpm dev` serves. Flows go through the local gateway with the real
// handlers; counts are compared before and after, as other test files share this runtime.
import { randomUUID } from 'node:crypto';
import type { LocalMetric } from '@svc/local/metrics';
import { METRIC_DIMENSIONS } from '@svc/platform/metrics';
import { describe, expect, it } from 'vitest';
import { uniqueNumber } from '../dispatch/support.js';
import { gateway, localToken } from '../support/gateway.js';
import { waitUntil } from '../support/wait.js';
import { visitInput } from '../visits/support/accounts.js';

const snapshot = async () =>
  (await gateway('GET', '/__local/metrics')).body as { lines: number; metrics: LocalMetric[] };
const total = (metrics: LocalMetric[], name: string, dimensions: Record<string, string> = {}) =>
  metrics
    .filter((m) => m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v))
    .reduce((sum, m) => sum + m.sum, 0);

describe('GET /__local/metrics', () => {
  it('sums the EMF lines of every function: an SMS from 202 to delivered, a visit requested', async () => {
    const before = (await snapshot()).metrics;
    const token = await localToken('messages:send messages:read');
    const sent = await gateway('POST', '/messages', {
      token,
      body: { to_number: uniqueNumber(), message: 'm' },
    });
    expect(sent.status).toBe(202);
    const registered = await gateway('POST', '/api/auth/registration', {
      body: {
        email: `m-${randomUUID()}@example.com`,
        password: 'correct horse battery',
        first_name: 'M',
        last_name: 'E',
      },
    });
    expect(registered.status).toBe(201);
    const visit = await gateway('POST', '/api/visit', {
      token: registered.body.data.access_token,
      body: visitInput(15),
    });
    expect(visit.status).toBe(201);

    const after = await waitUntil(
      'the delivery report to be counted',
      async () => {
        const { metrics } = await snapshot();
        return total(metrics, 'SmsDelivery', { outcome: 'delivered' }) >
          total(before, 'SmsDelivery', { outcome: 'delivered' })
          ? metrics
          : undefined;
      },
      30_000,
    );
    const grew = (name: string, dimensions?: Record<string, string>) =>
      total(after, name, dimensions) - total(before, name, dimensions);
    expect(grew('SmsAccepted')).toBeGreaterThanOrEqual(1);
    expect(grew('SmsSent')).toBeGreaterThanOrEqual(1);
    expect(grew('VisitsRequested')).toBeGreaterThanOrEqual(1);
    expect(grew('ApiRequests', { route: 'DispatchSendMessage', outcome: 'success' })).toBeGreaterThanOrEqual(
      1,
    );
    const accepted = after.find((m) => m.name === 'SmsAccepted');
    expect(accepted).toMatchObject({
      namespace: 'Svc/local',
      unit: 'Count',
      dimensions: { service: 'dispatch' },
      functions: ['DispatchSendMessage'],
    });
    const latency = after.find((m) => m.name === 'SmsTimeToDelivered');
    expect(latency?.unit).toBe('Milliseconds');
    expect(latency?.functions).toEqual(['DispatchDeliveryStatus']);
  });

  it('carries no dimension outside the allow-list, and no value that looks like an id or a number', async () => {
    const { metrics, lines } = await snapshot();
    expect(lines).toBeGreaterThan(0);
    const allowed = new Set<string>(METRIC_DIMENSIONS);
    for (const m of metrics) {
      for (const [key, value] of Object.entries(m.dimensions)) {
        expect(allowed.has(key), `${m.name} has dimension ${key}`).toBe(true);
        expect(value, `${m.name} ${key}`).toMatch(/^[A-Za-z][A-Za-z0-9_.-]{0,39}$/);
        expect(value, `${m.name} ${key}`).not.toMatch(/\d.*\d.*\d.*\d/);
      }
    }
  });
});
