import { randomUUID } from 'node:crypto';
import { ensureTable } from '@svc/local/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '@svc/local/runtime';
import { tasksService } from '@svc/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 4's "done when": webhook events posted to the local stack show up in the next report run
 * exactly as SPEC §2 defines. Its own runtime (tasks only, own table) with the scheduler off, so
 * this file alone decides when runs happen and which windows they cover.
 */
let runtime: LocalRuntime;
let token: string;

beforeAll(async () => {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
  const tableName = `svc-report-run-${randomUUID().slice(0, 8)}`;
  await ensureTable(endpoint, tableName);
  runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: endpoint,
    tableName,
    services: [tasksService],
    schedules: false,
    // A long first interval, so a busy machine cannot push window 1's events out of it.
    stage: { settings: { reportIntervalMinutes: 30 } },
    log: () => undefined,
  });
  token = await runtime.issuer.issue({ scope: 'tasks:read', sub: 'report-run' });
}, 120_000);
afterAll(() => runtime?.stop());

async function http(method: string, path: string, body?: unknown) {
  const res = await fetch(`${runtime.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const userId = `run-${randomUUID()}`;
async function send(event: string, id: string, content: string, isCompleted = false) {
  const timestamp = new Date().toISOString();
  const res = await http('POST', '/webhook', {
    event,
    timestamp,
    metadata: { userId, id, content, isCompleted },
  });
  expect(res.status).toBe(202);
  return timestamp;
}

type Summary = { id: string; period: { start: string; end: string } };
/** Waits for the report of `period` to be stored (the consumer runs from the local SQS poller). */
async function reportFor(period: { start: string; end: string }): Promise<Summary> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const list = await http('GET', `/task-reports?userId=${userId}`);
    const found = (list.body?.data as Summary[] | undefined)?.find((r) => r.period.end === period.end);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no report for ${JSON.stringify(period)}: ${list.status} ${JSON.stringify(list.body)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
const run = async () =>
  ((await runtime.runSchedule('task-reports')) as { window: { start: string; end: string } }).window;
const pause = () => new Promise((r) => setTimeout(r, 20));
const task = (id: string, content: string, createdAt: string, completedAt: string | null = null) => ({
  id,
  content,
  createdAt,
  completedAt,
});

describe('a scheduled report run through the local stack', { timeout: 120_000 }, () => {
  it('reports the webhook events of each window exactly as SPEC §2 defines, once', async () => {
    // Window 1 (the first run covers one interval back): three tasks created, one deleted again.
    const a = await send('created', `${userId}-a`, 'stays open');
    const b = await send('created', `${userId}-b`, 'done in window 2');
    const c = await send('created', `${userId}-c`, 'deleted');
    await send('deleted', `${userId}-c`, 'deleted');
    await pause();
    const first = await run();
    expect(Date.parse(first.end) - Date.parse(first.start)).toBe(30 * 60_000);
    const one = await reportFor(first);
    const doc1 = await http('GET', `/task-reports/${one.id}`);
    expect(doc1.body).toEqual({
      userId,
      period: first,
      newIncompleteTasks: [task(`${userId}-a`, 'stays open', a), task(`${userId}-b`, 'done in window 2', b)],
      completedTasks: [],
      oldIncompleteTasks: [],
    });
    expect(c < first.end).toBe(true);

    // Window 2 = (end of run 1, now]: b completed, d created, a renamed; a stale update changes nothing.
    await pause();
    const done = await send('updated', `${userId}-b`, 'done in window 2', true);
    const d = await send('created', `${userId}-d`, 'new in window 2');
    await send('updated', `${userId}-a`, 'renamed');
    const stale = await http('POST', '/webhook', {
      event: 'updated',
      timestamp: a,
      metadata: { userId, id: `${userId}-a`, content: 'stale', isCompleted: true },
    });
    expect(stale.body).toEqual({ status: 'accepted', applied: false });
    await pause();
    const second = await run();
    expect(second.start).toBe(first.end);
    const two = await reportFor(second);
    expect((await http('GET', `/task-reports/${two.id}`)).body).toEqual({
      userId,
      period: second,
      newIncompleteTasks: [task(`${userId}-d`, 'new in window 2', d)],
      completedTasks: [task(`${userId}-b`, 'done in window 2', b, done)],
      oldIncompleteTasks: [task(`${userId}-a`, 'renamed', a)],
    });

    // The run windows never overlap, and each holds exactly one report for this user.
    const all = await http('GET', `/task-reports?userId=${userId}`);
    expect(all.body.data.map((r: Summary) => r.period)).toEqual([second, first]);
    expect(all.body.data[0].counts).toEqual({ newIncomplete: 1, completed: 1, oldIncomplete: 1 });
    const queues = await runtime.queues();
    expect(queues['task-reports']?.dlq ?? 0).toBe(0);
  });
});
