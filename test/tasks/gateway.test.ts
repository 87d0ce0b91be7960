import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CallOptions, gateway, type Reply } from '../support/gateway.js';
import { pool } from '../support/pool.js';

/**
 * End to end through the local stack (`pnpm dev`): the gateway serves the tasks route table, the local
 * scheduler runs the planner, the local SQS pollers feed the report consumer, reports land in the
 * local S3 server and are read back through the API.
 */
const base = process.env.LOCAL_GATEWAY_URL;

const http = (method: string, path: string, options: CallOptions = {}): Promise<Reply> =>
  gateway(method, path, options);

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

  it('keeps every delivery in the audit trail, out of order and repeated, and serves the read API', async () => {
    const token = (await http('POST', '/__local/token', { body: { scope: 'tasks:read', sub: 'e2e' } })).body
      .access_token as string;
    const userId = `audit-${randomUUID()}`;
    const id = `task-${randomUUID()}`;
    const at = (minute: number) => `2026-05-01T08:${String(minute).padStart(2, '0')}:00.000Z`;
    const send = (name: string, minute: number, extra: Record<string, unknown> = {}) =>
      http('POST', '/webhook', {
        body: {
          event: name,
          timestamp: at(minute),
          metadata: { userId, id, content: `at ${minute}`, isCompleted: false, ...extra },
        },
      });
    const replies = [
      await send('updated', 4), // before its create: 404, recorded, retried below
      await send('created', 0),
      await send('created', 0), // a sender's retry
      await send('updated', 4), // the retry after the create
      await send('updated', 2), // stale
      await send('updated', 6, { isCompleted: true }),
      await send('updated', 6, { isCompleted: true }), // a retry of an applied delivery
    ];
    expect(replies.map((r) => [r.status, r.body.applied])).toEqual([
      [404, undefined],
      [202, true],
      [202, false],
      [202, true],
      [202, false],
      [202, true],
      [202, false],
    ]);
    const res = await http('GET', `/tasks/${id}`, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.body).toMatchObject({
      id,
      userId,
      content: 'at 6',
      isCompleted: true,
      createdAt: at(0),
      completedAt: at(6),
      deletedAt: null,
    });
    expect(
      res.body.events.map((e: { timestamp: string; applied: boolean }) => [e.timestamp, e.applied]),
    ).toEqual([
      [at(0), true],
      [at(2), false],
      [at(4), true],
      [at(6), true],
    ]);
    const listed = await http('GET', `/users/${userId}/tasks?status=completed`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      data: [
        {
          id,
          userId,
          content: 'at 6',
          isCompleted: true,
          createdAt: at(0),
          completedAt: at(6),
          deletedAt: null,
        },
      ],
      next_cursor: null,
    });
    expect((await http('GET', `/users/${userId}/tasks?status=open`, { token })).body.data).toEqual([]);
    expect((await http('GET', `/tasks/${id}`)).status).toBe(401);
    expect((await http('GET', `/tasks/nope-${randomUUID()}`, { token })).status).toBe(404);
  }, 120_000);

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
