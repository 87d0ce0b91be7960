import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CallOptions, gateway, type Reply } from '../support/gateway.js';

/**
 * End to end through the local stack (`pnpm dev`): the gateway serves the tasks route table, the local
 * scheduler runs the planner, the local SQS pollers feed the report consumer, reports land in the
 * local S3 server and are read back through the API.
 */
const base = process.env.LOCAL_GATEWAY_URL;

const http = (method: string, path: string, options: CallOptions = {}): Promise<Reply> =>
  gateway(method, path, options);

async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const event = (name: string, userId: string, id: string, extra: Record<string, unknown> = {}) => ({
  event: name,
  timestamp: new Date(Date.now() - 1000).toISOString(),
  metadata: { userId, id, content: `task of ${userId}`, isCompleted: false, ...extra },
});

describe.skipIf(!base)('tasks through the local gateway', () => {
  it('answers the webhook contract over HTTP', async () => {
    const userId = `gw-${randomUUID()}`;
    const id = `task-${randomUUID()}`;
    const created = event('created', userId, id);
    expect((await http('POST', '/webhook', { body: created })).status).toBe(202);
    expect((await http('POST', '/webhook', { body: created })).status).toBe(202);
    expect(
      (await http('POST', '/webhook', { body: { ...created, timestamp: new Date().toISOString() } })).status,
    ).toBe(409);
    expect((await http('POST', '/webhook', { body: event('archived', userId, id) })).status).toBe(400);
    expect((await http('POST', '/webhook', { body: { event: 'created' } })).status).toBe(422);
    expect(
      (await http('POST', '/webhook', { body: event('updated', userId, `nope-${randomUUID()}`) })).status,
    ).toBe(404);
    expect((await http('GET', '/task-reports')).status).toBe(401);
  });

  it('fans a scheduled run out to 220 users, one stored report each per window', async () => {
    const { body: issued } = await http('POST', '/__local/token', {
      body: { scope: 'tasks:read', sub: 'e2e' },
    });
    const token = issued.access_token as string;
    const users = Array.from({ length: 220 }, () => `fan-${randomUUID()}`);
    const created = await pool(users, 20, (userId) =>
      http('POST', '/webhook', { body: event('created', userId, `t-${randomUUID()}`) }),
    );
    expect(created.every((r) => r.status === 202)).toBe(true);

    expect((await http('POST', '/__local/schedules/task-reports/run')).status).toBeLessThan(300);

    const reportsOf = async (userId: string) =>
      (await http('GET', `/task-reports?userId=${encodeURIComponent(userId)}`, { token })).body.data as {
        id: string;
        period: { start: string; end: string };
        counts: Record<string, number>;
      }[];
    const deadline = Date.now() + 90_000;
    let waiting = users;
    while (waiting.length > 0 && Date.now() < deadline) {
      const counts = await pool(waiting, 20, async (u) => (await reportsOf(u)).length);
      waiting = waiting.filter((_, i) => counts[i] === 0);
      if (waiting.length > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(waiting).toEqual([]);

    for (const userId of users.slice(0, 25)) {
      const reports = await reportsOf(userId);
      const windows = reports.map((r) => `${r.period.start}/${r.period.end}`);
      expect(new Set(windows).size).toBe(windows.length);
      const latest = reports[0];
      expect((latest?.counts.newIncomplete ?? 0) + (latest?.counts.oldIncomplete ?? 0)).toBe(1);
    }
    const [sample] = await reportsOf(users[0] as string);
    const doc = await http('GET', `/task-reports/${sample?.id}`, { token });
    expect(doc.status).toBe(200);
    expect(doc.body.userId).toBe(users[0]);
    expect(doc.body.period).toEqual(sample?.period);

    const queues = (await http('GET', '/__local/queues')).body;
    expect(queues['task-reports']?.dlq ?? 0).toBe(0);
  }, 180_000);

  it('computes an on-demand report through the gateway', async () => {
    const { body: issued } = await http('POST', '/__local/token', {
      body: { scope: 'tasks:read', sub: 'e2e' },
    });
    const userId = `od-${randomUUID()}`;
    await http('POST', '/webhook', { body: event('created', userId, `t-${randomUUID()}`) });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await http('GET', `/users/${userId}/task-report?from=${from}&to=${to}`, {
      token: issued.access_token,
    });
    expect(res.status).toBe(200);
    expect(res.body.newIncompleteTasks).toHaveLength(1);
  });
});
