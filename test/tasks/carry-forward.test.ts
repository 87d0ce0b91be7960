// Carry-forward (issue 17): a window's report built from the user's previous report plus what changed since
// must be exactly the document the full read (`buildReport`, the algorithm before it) makes at that moment,
// whatever the history: out-of-order, stale, repeated and redelivered events, completions, re-opens,
// deletions, renames, tasks stamped in the future, and webhooks racing the report's own reads.
import { type ReportDocument, type ReportStore, Reports, Tasks } from '@svc/tasks';
import { enableCarryForward } from '@svc/tasks/carry-forward';
import { tasksDb } from '@svc/tasks/entities';
import { beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/pool.js';
import { iso, taskEvent, uid } from './support.js';

const memoryStore = (): ReportStore & { objects: Map<string, string> } => {
  const objects = new Map<string, string>();
  return {
    objects,
    async put(key, body) {
      objects.set(key, body);
    },
    async get(key) {
      const body = objects.get(key);
      return body === undefined ? undefined : (JSON.parse(body) as ReportDocument);
    },
    async presign(key) {
      return `memory://${key}`;
    },
  };
};

/** A small deterministic PRNG (mulberry32), so a failing history can be replayed. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const windowOf = (k: number) => ({ start: iso(T0 + k * HOUR), end: iso(T0 + (k + 1) * HOUR) });

type Event = Parameters<typeof taskEvent>[0];
const send = (e: Event) => Tasks.applyWebhookEvent(taskEvent(e)).catch(() => undefined);

/**
 * A random slice of history for window k: new tasks (some stamped before the window, some after it),
 * updates of older ones (rename, complete, re-open), deletions, stale events, and redeliveries.
 */
function historyFor(k: number, userId: string, ids: string[], random: () => number): Event[] {
  const events: Event[] = [];
  const { start } = windowOf(k);
  const inWindow = () => iso(Date.parse(start) + 1 + Math.floor(random() * (HOUR - 1)));
  const anyTime = () => iso(T0 + Math.floor((random() * (k + 2) - 0.5) * HOUR));
  for (let i = 0; i < 12; i++) {
    const id = `${userId}-t${ids.length}`;
    ids.push(id);
    // Mostly created in the window; some stamped earlier (late delivery) or after it (a skewed clock).
    const timestamp = random() < 0.7 ? inWindow() : anyTime();
    events.push({ userId, id, timestamp, content: `task ${id}`, isCompleted: random() < 0.1 });
  }
  for (let i = 0; i < 14 && ids.length > 0; i++) {
    const id = ids[Math.floor(random() * ids.length)] as string;
    const r = random();
    const timestamp = r < 0.15 ? iso(T0 - HOUR) /* stale */ : random() < 0.8 ? inWindow() : anyTime();
    if (r < 0.12) events.push({ event: 'deleted', userId, id, timestamp });
    else
      events.push({
        event: 'updated',
        userId,
        id,
        timestamp,
        content: random() < 0.5 ? `renamed ${id} in ${k}` : `task ${id}`,
        isCompleted: random() < 0.5,
      });
  }
  // Redeliveries: a sender's retries of some of the same events.
  for (const e of [...events]) if (random() < 0.25) events.push(e);
  return events;
}

beforeAll(async () => {
  await enableCarryForward();
});

async function expectSameAsFullRead(userId: string, k: number, store: ReportStore, carried: boolean) {
  const period = windowOf(k);
  const incremental = await Reports.reportOfWindow(userId, period, store);
  const full = await Reports.buildReport(userId, period);
  expect(incremental.how.mode).toBe(carried ? 'carried' : 'full');
  expect(incremental.document).toEqual(full);
  // And the worker stores that document (the next window's base).
  await Reports.generateReport({ userId, ...period }, { store });
  const stored = await store.get(Reports.objectKeyFor(userId, period));
  if (Reports.isEmpty(full)) expect(stored).toBeUndefined();
  else expect(stored).toEqual(await Reports.buildReport(userId, period));
  return full;
}

describe('a report carried forward is the full read’s document', { timeout: 120_000 }, () => {
  it('on a mixed history over 6 windows, two seeds (events in order and shuffled, redelivered)', async () => {
    for (const seed of [1, 2]) {
      const random = prng(seed);
      const userId = uid('carry');
      const store = memoryStore();
      const ids: string[] = [];
      let seen = { newIncomplete: 0, completed: 0, oldIncomplete: 0 };
      for (let k = 0; k < 6; k++) {
        const events = historyFor(k, userId, ids, random);
        // Delivered out of order, a few at a time.
        events.sort(() => random() - 0.5);
        await pool(events, 8, send);
        const doc = await expectSameAsFullRead(userId, k, store, k > 0);
        seen = {
          newIncomplete: seen.newIncomplete + doc.newIncompleteTasks.length,
          completed: seen.completed + doc.completedTasks.length,
          oldIncomplete: seen.oldIncomplete + doc.oldIncompleteTasks.length,
        };
      }
      // The history exercised every list (a test that can fail on each of them).
      expect(seen.newIncomplete).toBeGreaterThan(0);
      expect(seen.completed).toBeGreaterThan(0);
      expect(seen.oldIncomplete).toBeGreaterThan(0);
    }
  });

  it('redelivered webhooks change nothing: every event sent three times gives the same reports', async () => {
    const random = prng(7);
    const once = uid('once');
    const thrice = uid('thrice');
    const stores = { once: memoryStore(), thrice: memoryStore() };
    const ids: string[] = [];
    for (let k = 0; k < 4; k++) {
      const events = historyFor(k, once, ids, random);
      for (const e of events) await send(e);
      for (const e of events)
        await Promise.all(
          [1, 2, 3].map(() =>
            send({
              ...e,
              userId: thrice,
              id: e.id.replace(once, thrice),
              content: e.content?.replace(once, thrice),
            }),
          ),
        );
      const a = await expectSameAsFullRead(once, k, stores.once, k > 0);
      const b = await expectSameAsFullRead(thrice, k, stores.thrice, k > 0);
      const rename = (doc: ReportDocument) => JSON.parse(JSON.stringify(doc).replaceAll(once, thrice));
      expect(b).toEqual(rename(a));
    }
  });

  it('60 concurrent webhooks for one user, some racing the report’s own reads: the next report still matches a recount', async () => {
    const userId = uid('race');
    const store = memoryStore();
    const ids = Array.from({ length: 40 }, (_, i) => `${userId}-r${i}`);
    const w0 = windowOf(0);
    // Window 0: 40 tasks created at once.
    await Promise.all(
      ids.map((id, i) => send({ userId, id, timestamp: iso(Date.parse(w0.start) + 1000 + i), content: id })),
    );
    await expectSameAsFullRead(userId, 0, store, false);

    // Window 1: 60 events at once (complete, rename, delete, create), while window 1's report is built.
    const w1 = windowOf(1);
    const at = (i: number) => iso(Date.parse(w1.start) + 1000 + i);
    const burst: Event[] = [
      ...ids
        .slice(0, 20)
        .map((id, i) => ({ event: 'updated', userId, id, timestamp: at(i), content: id, isCompleted: true })),
      ...ids
        .slice(20, 30)
        .map((id, i) => ({ event: 'updated', userId, id, timestamp: at(i), content: `${id}!` })),
      ...ids.slice(30, 35).map((id, i) => ({ event: 'deleted', userId, id, timestamp: at(i) })),
      ...Array.from({ length: 25 }, (_, i) => ({
        userId,
        id: `${userId}-n${i}`,
        timestamp: at(i),
        content: 'new',
      })),
    ];
    await Promise.all([...burst.map(send), Reports.generateReport({ userId, ...w1 }, { store })]);
    // Whatever window 1's report saw, window 2's (carried from it) equals a full recount now.
    const doc = await expectSameAsFullRead(userId, 2, store, true);
    expect(doc.oldIncompleteTasks.map((t) => t.id).sort()).toEqual(
      [
        ...ids.slice(20, 30),
        ...ids.slice(35),
        ...Array.from({ length: 25 }, (_, i) => `${userId}-n${i}`),
      ].sort(),
    );
    expect(doc.oldIncompleteTasks.filter((t) => t.content.endsWith('!'))).toHaveLength(10);
  });

  it('reads only what changed: a user with 300 old open tasks and 3 changes re-reads 3 tasks', async () => {
    const userId = uid('cost');
    const store = memoryStore();
    const w0 = windowOf(0);
    await pool(
      Array.from({ length: 300 }, (_, i) => i),
      8,
      (i) => send({ userId, id: `${userId}-o${i}`, timestamp: iso(Date.parse(w0.start) + 1000 + i) }),
    );
    await expectSameAsFullRead(userId, 0, store, false);
    const w1 = windowOf(1);
    await send({
      event: 'updated',
      userId,
      id: `${userId}-o1`,
      timestamp: iso(Date.parse(w1.start) + 5),
      isCompleted: true,
    });
    await send({ event: 'deleted', userId, id: `${userId}-o2`, timestamp: iso(Date.parse(w1.start) + 6) });
    await send({ userId, id: `${userId}-fresh`, timestamp: iso(Date.parse(w1.start) + 7) });
    // No grace here (the 300 creates were written seconds before the base was built, inside the 5-minute grace
    // that production re-reads; hourly windows leave 55 minutes of changes outside it).
    const r = await Reports.reportOfWindow(userId, w1, store, { changeGraceMs: 0 });
    expect(r.how).toMatchObject({ mode: 'carried', reads: { changed: 3, createdSince: 1, completed: 1 } });
    expect(r.document.oldIncompleteTasks).toHaveLength(298);
    expect(r.document).toEqual(await Reports.buildReport(userId, w1));
  });

  it('a previous report without builtFrom (before carry-forward) or built before the switch is read in full', async () => {
    const userId = uid('legacy');
    const store = memoryStore();
    const [w0, w1] = [windowOf(0), windowOf(1)];
    await send({ userId, id: `${userId}-a`, timestamp: iso(Date.parse(w0.start) + 5) });
    await Reports.generateReport({ userId, ...w0 }, { store });
    const reportId = Reports.reportIdFor(userId, w0);
    const report = tasksDb().entities.report;
    expect((await Reports.reportOfWindow(userId, w1, store)).how.mode).toBe('carried');
    await report.patch({ reportId }).remove(['builtFrom']).go();
    expect((await Reports.reportOfWindow(userId, w1, store)).how.mode).toBe('full');
    await report.patch({ reportId }).set({ builtFrom: '2000-01-01T00:00:00.000Z' }).go();
    expect((await Reports.reportOfWindow(userId, w1, store)).how.mode).toBe('full');
    // Its document gone from the store (expired): read in full too.
    await report.patch({ reportId }).set({ builtFrom: new Date().toISOString() }).go();
    store.objects.clear();
    expect((await Reports.reportOfWindow(userId, w1, store)).how.mode).toBe('full');
  });
});
