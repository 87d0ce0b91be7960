import { tasksDb } from '@svc/tasks/entities';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as getTask } from '../../functions/tasks/get-task.js';
import { handler as listUserTasks } from '../../functions/tasks/list-user-tasks.js';
import { handler as webhook } from '../../functions/tasks/webhook.js';
import { apiEvent, invoke } from '../support/api-event.js';
import { startIssuer, type TaskEventInput, taskEvent, uid, webhookEvent } from './support.js';

/**
 * The audit trail and the read API (SPEC §2) through the real handlers against DynamoDB Local: every
 * delivery recorded once with the right `applied` flag, the task's state as SPEC §2 says, and the
 * per-user list in every status with pagination.
 */
let issuer: Awaited<ReturnType<typeof startIssuer>>;
let auth: Record<string, string>;

beforeAll(async () => {
  delete process.env.PARAM_TASKS_WEBHOOK_SECRET;
  process.env.TASK_AUDIT_RETENTION_DAYS = '7';
  issuer = await startIssuer();
  auth = { authorization: `Bearer ${await issuer.token('tasks:read')}` };
});
afterAll(async () => {
  await issuer.stop();
});

const post = (e: TaskEventInput) => invoke(webhook, webhookEvent(taskEvent(e)));
const read = (id: string, headers = auth) =>
  invoke(getTask, apiEvent({ method: 'GET', route: '/tasks/{id}', pathParameters: { id }, headers }));
const list = (userId: string, query: Record<string, string> = {}, headers = auth) =>
  invoke(
    listUserTasks,
    apiEvent({ method: 'GET', route: '/users/{userId}/tasks', pathParameters: { userId }, query, headers }),
  );
const T = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

describe('audit trail', () => {
  it('records out-of-order and repeated deliveries once each, with the right applied flag', async () => {
    const t = { userId: uid(), id: uid('task') };
    const statuses: number[] = [];
    const send = async (e: Omit<TaskEventInput, 'userId' | 'id'>) => {
      const res = await post({ ...t, ...e });
      statuses.push(res.status);
      return res.body?.applied as boolean | undefined;
    };
    // An update before its create: 404, recorded as not applied; the sender retries it after the create.
    expect(await send({ event: 'updated', timestamp: T(5), content: 'v5' })).toBeUndefined();
    expect(await send({ event: 'created', timestamp: T(0), content: 'v0' })).toBe(true);
    expect(await send({ event: 'created', timestamp: T(0), content: 'v0' })).toBe(false); // redelivery
    expect(await send({ event: 'updated', timestamp: T(5), content: 'v5' })).toBe(true); // the retry
    expect(await send({ event: 'updated', timestamp: T(5), content: 'v5' })).toBe(false); // again
    expect(await send({ event: 'updated', timestamp: T(3), content: 'v3' })).toBe(false); // stale
    expect(await send({ event: 'updated', timestamp: T(3), content: 'v3' })).toBe(false); // stale again
    expect(await send({ event: 'updated', timestamp: T(7), content: 'done', isCompleted: true })).toBe(true);
    expect(await send({ event: 'deleted', timestamp: T(9), content: 'done', isCompleted: true })).toBe(true);
    expect(await send({ event: 'deleted', timestamp: T(10), content: 'done', isCompleted: true })).toBe(
      false,
    );
    expect(await send({ event: 'updated', timestamp: T(11), content: 'late' })).toBeUndefined(); // 409
    expect(statuses).toEqual([404, 202, 202, 202, 202, 202, 202, 202, 202, 202, 409]);

    const res = await read(t.id);
    expect(res.status).toBe(200);
    expect(res.headers?.['content-type']).toMatch(/json/);
    const { events, ...task } = res.body;
    // SPEC §2: the state follows event time, not arrival; the stale T3 update changed nothing.
    expect(task).toEqual({
      id: t.id,
      userId: t.userId,
      content: 'done',
      isCompleted: true,
      createdAt: T(0),
      completedAt: T(7),
      deletedAt: T(9),
    });
    expect(
      events.map((e: { event: string; timestamp: string; applied: boolean }) => [
        e.event,
        e.timestamp,
        e.applied,
      ]),
    ).toEqual([
      ['created', T(0), true],
      ['updated', T(3), false],
      ['updated', T(5), true],
      ['updated', T(7), true],
      ['deleted', T(9), true],
      ['deleted', T(10), false],
      ['updated', T(11), false],
    ]);
    for (const e of events) expect(Date.parse(e.received_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps the payload and a retention TTL from the stage setting on each record', async () => {
    const t = { userId: uid(), id: uid('task') };
    await post({ ...t, timestamp: T(0), content: 'kept' });
    const { data } = await tasksDb().entities.taskEvent.query.byTask({ taskId: t.id }).go();
    expect(data).toHaveLength(1);
    const [record] = data;
    expect(JSON.parse(record?.payload ?? '{}')).toMatchObject({
      event: 'created',
      metadata: { content: 'kept' },
    });
    const days = ((record?.expiresAt ?? 0) - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
  });

  it('records one applied delivery once even when the same delivery races itself', async () => {
    const t = { userId: uid(), id: uid('task') };
    await post({ ...t, timestamp: T(0) });
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => post({ ...t, event: 'updated', timestamp: T(4), content: 'x' })),
    );
    expect(replies.every((r) => r.status === 202)).toBe(true);
    expect(replies.filter((r) => r.body.applied).length).toBe(1);
    const { events } = (await read(t.id)).body;
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ event: 'updated', timestamp: T(4), applied: true });
  });

  it('bounds the trail to the newest 1000 deliveries', async () => {
    const t = { userId: uid(), id: uid('task') };
    await post({ ...t, timestamp: T(0) });
    const db = tasksDb().entities.taskEvent;
    const base = Date.parse(T(0));
    const records = Array.from({ length: 1005 }, (_, i) => ({
      taskId: t.id,
      deliveryId: `d${i}`,
      userId: t.userId,
      event: 'updated',
      timestamp: new Date(base + (i + 1) * 1000).toISOString(),
      receivedAt: new Date().toISOString(),
      applied: false,
      outcome: 'stale' as const,
      payload: '{}',
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    }));
    await db.put(records).go();
    const { events } = (await read(t.id)).body;
    expect(events).toHaveLength(1000);
    expect(events.at(-1).timestamp).toBe(records.at(-1)?.timestamp);
    expect(events[0].timestamp).toBe(records[5]?.timestamp);
  });
});

describe('GET /tasks/{id}', () => {
  it('answers 404 for an unknown task, 400 for a malformed id, 401/403 without the scope', async () => {
    expect((await read(uid('nope'))).status).toBe(404);
    expect((await read('has space')).status).toBe(400);
    expect((await read(uid('x'), {})).status).toBe(401);
    const other = { authorization: `Bearer ${await issuer.token('visits:read')}` };
    expect((await read(uid('x'), other)).status).toBe(403);
  });
});

describe('GET /users/{userId}/tasks', () => {
  it('lists each status newest createdAt first, all by default, and pages through them', async () => {
    const userId = uid();
    const ids = Array.from({ length: 9 }, (_, i) => `t${i}-${uid('task')}`);
    for (const [i, id] of ids.entries()) {
      await post({ userId, id, timestamp: T(i), content: `c${i}` });
    }
    // t0,t3,t6 completed; t1,t4 deleted; the rest open.
    for (const i of [0, 3, 6]) {
      await post({ userId, id: ids[i] as string, event: 'updated', timestamp: T(20 + i), isCompleted: true });
    }
    for (const i of [1, 4])
      await post({ userId, id: ids[i] as string, event: 'deleted', timestamp: T(30 + i) });
    await post({ userId: uid(), id: uid('task'), timestamp: T(0) }); // another user's task

    const idsOf = (res: { body: { data: { id: string }[] } }) => res.body.data.map((t) => t.id);
    const newest = (indexes: number[]) => [...indexes].reverse().map((i) => ids[i]);
    expect(idsOf(await list(userId))).toEqual(newest([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    expect(idsOf(await list(userId, { status: 'open' }))).toEqual(newest([2, 5, 7, 8]));
    expect(idsOf(await list(userId, { status: 'completed' }))).toEqual(newest([0, 3, 6]));
    expect(idsOf(await list(userId, { status: 'deleted' }))).toEqual(newest([1, 4]));
    const first = await list(userId, { status: 'all' });
    expect(first.body.data[0]).toEqual({
      id: ids[8],
      userId,
      content: 'c8',
      isCompleted: false,
      createdAt: T(8),
      completedAt: null,
      deletedAt: null,
    });
    expect(first.body.data[0]).not.toHaveProperty('events');
    expect(first.body.next_cursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(userId, { limit: '2', ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      seen.push(...idsOf(res));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(newest([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    expect(pages).toBe(5);
  });

  it('answers 400 for a bad status, limit or cursor, 200 with nothing for an unknown user', async () => {
    expect((await list(uid(), { status: 'archived' })).status).toBe(400);
    expect((await list(uid(), { limit: '0' })).status).toBe(400);
    expect((await list(uid(), { cursor: 'bm90LW91cnM' })).status).toBe(400);
    const forged = Buffer.from(JSON.stringify({ p: 'x|y' })).toString('base64url');
    expect((await list(uid(), { cursor: forged })).status).toBe(400);
    expect((await list(uid())).body).toEqual({ data: [], next_cursor: null });
    expect((await list(uid(), {}, {})).status).toBe(401);
  });
});
