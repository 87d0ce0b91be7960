import { Tasks } from '@svc/tasks';
import * as Candidates from '@svc/tasks/candidates';
import { tasksDb } from '@svc/tasks/entities';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/tasks/webhook.js';
import { invoke } from '../support/api-event.js';
import { type TaskEventInput, taskEvent, uid, webhookEvent } from './support.js';

// This file is the unsigned stage: no webhook secret configured.
beforeAll(() => {
  delete process.env.PARAM_TASKS_WEBHOOK_SECRET;
});

const send = (body: unknown, headers: Record<string, string> = {}) =>
  invoke(handler, webhookEvent(body, headers));
const post = (e: TaskEventInput) => send(taskEvent(e));
const T = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

function newTask() {
  return { userId: uid(), id: uid('task') };
}

describe('POST /webhook created', () => {
  it('stores the task with createdAt = the payload timestamp and answers 202', async () => {
    const t = newTask();
    const res = await post({ ...t, timestamp: '2026-03-01T11:00:00+01:00', content: 'write tests' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', applied: true });
    expect(await Tasks.getTask(t.id)).toMatchObject({
      userId: t.userId,
      content: 'write tests',
      isCompleted: false,
      createdAt: '2026-03-01T10:00:00.000Z',
    });
  });

  it('answers 202 again for an identical redelivery and changes nothing', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    await post({ ...t, event: 'updated', timestamp: T(5), content: 'edited' });
    const again = await post({ ...t, timestamp: T(0) });
    expect(again.status).toBe(202);
    expect(again.body.applied).toBe(false);
    expect((await Tasks.getTask(t.id))?.content).toBe('edited');
  });

  it.each([
    ['content', { content: 'something else' }],
    ['isCompleted', { isCompleted: true }],
    ['timestamp', { timestamp: T(1) }],
    ['userId', { userId: 'someone-else' }],
  ])('answers 409 for a second created with a different %s', async (_, change) => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    const res = await post({ ...t, timestamp: T(0), ...change });
    expect(res.status).toBe(409);
    expect(res.body.error.status).toBe(409);
    expect((await Tasks.getTask(t.id))?.content).toBe('buy milk');
  });

  it('accepts a real leap day', async () => {
    const t = newTask();
    expect((await post({ ...t, timestamp: '2028-02-29T23:59:59.999Z' })).status).toBe(202);
    expect((await Tasks.getTask(t.id))?.createdAt).toBe('2028-02-29T23:59:59.999Z');
  });

  it('stores a task created already completed with completedAt = createdAt', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(3), isCompleted: true });
    expect(await Tasks.getTask(t.id)).toMatchObject({ isCompleted: true, completedAt: T(3) });
  });
});

describe('POST /webhook updated', () => {
  it('answers 404 for an unknown id', async () => {
    const res = await post({ ...newTask(), event: 'updated', timestamp: T(0) });
    expect(res.status).toBe(404);
  });

  it('completes with completedAt = the event time, keeps it on a repeat, and re-opens', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    expect((await post({ ...t, event: 'updated', timestamp: T(10), isCompleted: true })).status).toBe(202);
    expect(await Tasks.getTask(t.id)).toMatchObject({ isCompleted: true, completedAt: T(10) });
    await post({ ...t, event: 'updated', timestamp: T(12), isCompleted: true, content: 'renamed' });
    expect(await Tasks.getTask(t.id)).toMatchObject({ completedAt: T(10), content: 'renamed' });
    await post({ ...t, event: 'updated', timestamp: T(15), isCompleted: false });
    const reopened = await Tasks.getTask(t.id);
    expect(reopened?.isCompleted).toBe(false);
    expect(reopened?.completedAt).toBeUndefined();
  });

  it('ignores an event older than the last applied one and still answers 202', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    await post({ ...t, event: 'updated', timestamp: T(20), content: 'newest', isCompleted: true });
    const stale = await post({
      ...t,
      event: 'updated',
      timestamp: T(10),
      content: 'older',
      isCompleted: false,
    });
    expect(stale.status).toBe(202);
    expect(stale.body.applied).toBe(false);
    expect(await Tasks.getTask(t.id)).toMatchObject({
      content: 'newest',
      isCompleted: true,
      completedAt: T(20),
      lastEventAt: T(20),
    });
  });

  it('answers 409 for an update to a deleted task, but 202 for one older than the delete', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    await post({ ...t, event: 'deleted', timestamp: T(30) });
    expect((await post({ ...t, event: 'updated', timestamp: T(31) })).status).toBe(409);
    expect((await post({ ...t, event: 'updated', timestamp: T(29) })).status).toBe(202);
    expect((await Tasks.getTask(t.id))?.deletedAt).toBe(T(30));
  });

  it('decides concurrent out-of-order updates by timestamp, not arrival', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    const stamps = Array.from({ length: 12 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    const results = await Promise.all(
      stamps.map((m) => post({ ...t, event: 'updated', timestamp: T(m), content: `v${m}` })),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(await Tasks.getTask(t.id)).toMatchObject({ content: 'v12', lastEventAt: T(12) });
  });
});

describe('POST /webhook deleted', () => {
  it('answers 404 for an unknown id', async () => {
    expect((await post({ ...newTask(), event: 'deleted', timestamp: T(0) })).status).toBe(404);
  });

  it('sets deletedAt and treats repeats as no-ops', async () => {
    const t = newTask();
    await post({ ...t, timestamp: T(0) });
    expect((await post({ ...t, event: 'deleted', timestamp: T(5) })).status).toBe(202);
    const repeat = await post({ ...t, event: 'deleted', timestamp: T(6) });
    expect(repeat.status).toBe(202);
    expect(repeat.body.applied).toBe(false);
    expect((await Tasks.getTask(t.id))?.deletedAt).toBe(T(5));
  });
});

describe('POST /webhook validation', () => {
  it('answers 400 for an unknown event', async () => {
    const res = await post({ ...newTask(), event: 'archived', timestamp: T(0) });
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty('event');
  });

  it.each([
    ['a missing event', (b: Record<string, unknown>) => ({ ...b, event: undefined }), 'event'],
    ['a numeric event', (b: Record<string, unknown>) => ({ ...b, event: 1 }), 'event'],
    ['a bad timestamp', (b: Record<string, unknown>) => ({ ...b, timestamp: 'yesterday' }), 'timestamp'],
    [
      'a timestamp without zone',
      (b: Record<string, unknown>) => ({ ...b, timestamp: '2026-03-01T10:00:00' }),
      'timestamp',
    ],
    ['missing metadata', (b: Record<string, unknown>) => ({ ...b, metadata: undefined }), 'metadata'],
    [
      'a string isCompleted',
      (b: Record<string, unknown>) => ({ ...b, metadata: { ...(b.metadata as object), isCompleted: 'yes' } }),
      'metadata.isCompleted',
    ],
    [
      'a missing id',
      (b: Record<string, unknown>) => ({ ...b, metadata: { ...(b.metadata as object), id: undefined } }),
      'metadata.id',
    ],
  ])('answers 422 for %s', async (_, mutate, field) => {
    const res = await send(mutate(taskEvent({ ...newTask(), timestamp: T(0) })));
    expect(res.status).toBe(422);
    expect(res.body.error.errors).toHaveProperty(field);
  });

  it.each(['2026-02-31T10:00:00Z', '2026-02-29T10:00:00Z', '2026-03-01T24:00:00Z', '2026-13-01T10:00:00Z'])(
    'answers 422 for the impossible calendar time %s instead of rolling it over',
    async (timestamp) => {
      const t = newTask();
      const res = await post({ ...t, timestamp });
      expect(res.status).toBe(422);
      expect(res.body.error.errors).toHaveProperty('timestamp');
      expect(await Tasks.getTask(t.id)).toBeUndefined();
    },
  );

  it.each([
    ['malformed JSON', '{"event":'],
    ['a JSON array', '[]'],
  ])('answers 400 for %s', async (_, raw) => {
    expect((await send(raw, { 'content-type': 'application/json' })).status).toBe(400);
  });

  it('answers 415 for another content type', async () => {
    const body = JSON.stringify(taskEvent({ ...newTask(), timestamp: T(0) }));
    expect((await send(body, { 'content-type': 'text/plain' })).status).toBe(415);
  });
});

describe('POST /webhook bulk import by one user (issue 16)', () => {
  it('accepts 40 concurrent creates of one user without a 409, and makes the user a report candidate once', async () => {
    Candidates.resetMemo();
    const began = Date.now();
    const userId = uid('bulk');
    const ids = Array.from({ length: 40 }, () => uid('task'));
    const results = await Promise.all(
      ids.map((id, i) => post({ userId, id, timestamp: new Date(Date.now() - i).toISOString() })),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
    for (const id of ids.slice(0, 10)) expect(await Tasks.getTask(id)).toMatchObject({ userId });
    // The user is in the open set and in the current activity bucket of their shard, once each.
    const shard = Candidates.shardOf(userId);
    const open = await tasksDb().entities.openUser.get({ openShard: shard, userId }).go();
    expect(open.data?.userId).toBe(userId);
    const buckets = new Set([Candidates.bucketOf(began), Candidates.bucketOf(Date.now())]);
    let markers = 0;
    for (const activityBucket of buckets) {
      const { data } = await tasksDb()
        .entities.activity.query.byBucket({ activityBucket, activityShard: shard })
        .gte({ userId })
        .go({ limit: 1, pages: 1 });
      markers += data.filter((a) => a.userId === userId).length;
    }
    expect(markers).toBe(buckets.size);
  });
});
