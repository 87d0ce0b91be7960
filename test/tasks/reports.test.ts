import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '@svc/local/s3-server';
import { dynamo } from '@svc/platform';
import { type ReportJob, type ReportQueue, Reports, type ShardJob, s3ReportStore, Tasks } from '@svc/tasks';
import { tasksDb } from '@svc/tasks/entities';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as generateHandler } from '../../functions/tasks/generate-report.js';
import { handler as getReportHandler } from '../../functions/tasks/get-report.js';
import { handler as getUserReportHandler } from '../../functions/tasks/get-user-report.js';
import { handler as listHandler } from '../../functions/tasks/list-reports.js';
import { apiEvent, invoke, lambdaContext } from '../support/api-event.js';
import { pool } from '../support/pool.js';
import { waitUntil } from '../support/wait.js';
import { iso, startIssuer, taskEvent, uid } from './support.js';

const BUCKET = 'task-reports-test';
let s3: Awaited<ReturnType<typeof startLocalS3>>;
let issuer: Awaited<ReturnType<typeof startIssuer>>;
let client: S3Client;
let readToken: string;

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  Object.assign(process.env, { REPORTS_BUCKET: BUCKET, AWS_ENDPOINT_URL_S3: s3.endpoint });
  issuer = await startIssuer();
  readToken = await issuer.token('tasks:read');
  client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
});
afterAll(async () => {
  await issuer.stop();
  await s3.stop();
});

const apply = (e: Parameters<typeof taskEvent>[0]) => Tasks.applyWebhookEvent(taskEvent(e));

/** Runs `fn` over `items` with at most `n` in flight. */

/** A queue in memory: user jobs land in `jobs`; shard jobs are run at once (planShard) by `drain`. */
const memoryQueue = () => {
  const jobs: ReportJob[] = [];
  const shardJobs: ShardJob[] = [];
  const queue: ReportQueue = {
    async enqueue(batch) {
      for (const job of batch) {
        if ('kind' in job) shardJobs.push(job);
        else jobs.push(job);
      }
    },
  };
  // Shard jobs run side by side, as SQS delivers them.
  const drain = async () => {
    while (shardJobs.length > 0) {
      await Promise.all(shardJobs.splice(0).map((job) => Reports.planShard(job, { queue })));
    }
  };
  return { jobs, shardJobs, queue, drain };
};

const START = Date.parse('2026-02-01T00:00:00.000Z');
const END = START + 3_600_000;
const period = { start: iso(START), end: iso(END) };
const objectKeyOf = (userId: string, p: { start: string; end: string }) =>
  `task_report_${userId}_${p.start}_${p.end}.json`;

/** One user's tasks placed on and around the window edges. */
async function edgeUser() {
  const userId = uid();
  const at = async (
    id: string,
    created: number,
    then: { complete?: number; reopen?: number; del?: number } = {},
  ) => {
    await apply({ userId, id, timestamp: iso(created), content: id });
    if (then.complete !== undefined)
      await apply({
        userId,
        id,
        event: 'updated',
        timestamp: iso(then.complete),
        content: id,
        isCompleted: true,
      });
    if (then.reopen !== undefined)
      await apply({
        userId,
        id,
        event: 'updated',
        timestamp: iso(then.reopen),
        content: id,
        isCompleted: false,
      });
    if (then.del !== undefined)
      await apply({ userId, id, event: 'deleted', timestamp: iso(then.del), content: id });
  };
  const ids = (suffix: string) => `${userId}-${suffix}`;
  await at(ids('open-created-at-start'), START);
  await at(ids('open-created-at-end'), END);
  await at(ids('open-created-just-after-start'), START + 1);
  await at(ids('open-created-after-end'), END + 1);
  await at(ids('open-created-long-ago'), START - 86_400_000);
  await at(ids('completed-at-start'), START - 10, { complete: START });
  await at(ids('completed-at-end'), START - 10, { complete: END });
  await at(ids('completed-after-end'), START + 10, { complete: END + 1 });
  await at(ids('deleted-in-window'), START + 20, { del: START + 30 });
  await at(ids('deleted-after-completing'), START + 20, { complete: START + 25, del: START + 30 });
  await at(ids('completed-then-reopened'), START + 40, { complete: START + 50, reopen: START + 60 });
  return { userId, ids };
}

describe('report content (SPEC §2 window (start, end])', () => {
  it('puts tasks on the window edges where they belong and leaves deleted tasks out', async () => {
    const { userId, ids } = await edgeUser();
    const doc = await Reports.buildReport(userId, period);
    const idsOf = (list: { id: string }[]) => list.map((t) => t.id);
    expect(doc.userId).toBe(userId);
    expect(doc.period).toEqual(period);
    expect(idsOf(doc.newIncompleteTasks)).toEqual([
      ids('open-created-just-after-start'),
      ids('completed-then-reopened'),
      ids('open-created-at-end'),
    ]);
    expect(idsOf(doc.completedTasks)).toEqual([ids('completed-at-end')]);
    expect(idsOf(doc.oldIncompleteTasks)).toEqual([
      ids('open-created-long-ago'),
      ids('open-created-at-start'),
    ]);
    expect(doc.completedTasks[0]).toEqual({
      id: ids('completed-at-end'),
      content: ids('completed-at-end'),
      createdAt: iso(START - 10),
      completedAt: iso(END),
    });
    expect(doc.newIncompleteTasks[0]?.completedAt).toBeNull();
  });
});

describe('stored reports', () => {
  it('writes task_report_{userId}_{start}_{end}.json to S3 with the document, once per user and window', async () => {
    const { userId } = await edgeUser();
    const store = s3ReportStore(BUCKET, client);
    const job = { userId, ...period };
    expect(await Reports.generateReport(job, { store })).toBe('stored');

    const key = `task_report_${userId}_${period.start}_${period.end}.json`;
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const stored = JSON.parse((await object.Body?.transformToString()) ?? '');
    expect(stored).toEqual(await Reports.buildReport(userId, period));
    expect(Object.keys(stored)).toEqual([
      'userId',
      'period',
      'newIncompleteTasks',
      'completedTasks',
      'oldIncompleteTasks',
    ]);

    // Re-runs of the same window (sequential and concurrent) never write a second report.
    await apply({ userId, id: uid('late'), timestamp: iso(START + 5) });
    expect(await Reports.generateReport(job, { store })).toBe('exists');
    const again = await Promise.allSettled(
      Array.from({ length: 5 }, () => Reports.generateReport(job, { store })),
    );
    expect(again.every((r) => r.status === 'fulfilled' && r.value === 'exists')).toBe(true);
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `task_report_${userId}_` }),
    );
    expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);
    const page = await Reports.listReports({ userId, limit: 50 });
    expect(page.data).toHaveLength(1);
    expect(
      JSON.parse(
        (await (
          await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
        ).Body?.transformToString()) ?? '',
      ),
    ).toEqual(stored);
  });

  it('lets exactly one of many concurrent first writers store the report', async () => {
    const userId = uid();
    await apply({ userId, id: uid('task'), timestamp: iso(START + 1) });
    const store = s3ReportStore(BUCKET, client);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => Reports.generateReport({ userId, ...period }, { store })),
    );
    const stored = results.filter((r) => r.status === 'fulfilled' && r.value === 'stored');
    expect(stored).toHaveLength(1);
    const objects = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `task_report_${userId}_` }),
    );
    expect(objects.Contents?.map((c) => c.Key)).toEqual([objectKeyOf(userId, period)]);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(Reports.ReportInProgress);
    }
    expect((await Reports.listReports({ userId, limit: 50 })).data).toHaveLength(1);
  });

  it('writes nothing for a user with nothing to report', async () => {
    const userId = uid();
    const id = uid('task');
    await apply({ userId, id, timestamp: iso(START - 100) });
    await apply({ userId, id, event: 'deleted', timestamp: iso(START - 50) });
    const store = s3ReportStore(BUCKET, client);
    expect(await Reports.generateReport({ userId, ...period }, { store })).toBe('empty');
    expect((await Reports.listReports({ userId, limit: 50 })).data).toEqual([]);
  });

  it('takes over a lease abandoned by a crashed worker', async () => {
    const userId = uid();
    await apply({ userId, id: uid('task'), timestamp: iso(START + 1) });
    let clock = Date.now();
    const crashing = {
      put: async () => Promise.reject(new Error('crashed')),
      get: async () => undefined,
      presign: async () => '',
    };
    await expect(
      Reports.generateReport({ userId, ...period }, { store: crashing, now: () => clock, leaseMs: 1000 }),
    ).rejects.toThrow('crashed');
    const store = s3ReportStore(BUCKET, client);
    await expect(
      Reports.generateReport({ userId, ...period }, { store, now: () => clock }),
    ).rejects.toBeInstanceOf(Reports.ReportInProgress);
    clock += 2000;
    expect(await Reports.generateReport({ userId, ...period }, { store, now: () => clock })).toBe('stored');
  });
});

describe('planner', { timeout: 120_000 }, () => {
  // Its own schedule cursor, so these clock-driven runs never move the one the gateway tests use.
  const schedule = `planner-test-${randomUUID()}`;
  const base = Date.now();
  const minutes = (n: number) => new Date(base + n * 60_000);

  it('covers one interval on its first run, then (previous end, now], and claims each window once', async () => {
    const first = memoryQueue();
    const one = await Reports.planReports({
      schedule,
      queue: first.queue,
      intervalMinutes: 60,
      now: minutes(0),
    });
    expect(one.window).toEqual({ start: minutes(-60).toISOString(), end: minutes(0).toISOString() });

    const racers = [memoryQueue(), memoryQueue(), memoryQueue()];
    const raced = await Promise.all(
      racers.map((r) =>
        Reports.planReports({ schedule, queue: r.queue, intervalMinutes: 60, now: minutes(5) }),
      ),
    );
    const claimed = raced.filter((o) => o.window);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]?.window).toEqual({ start: minutes(0).toISOString(), end: minutes(5).toISOString() });
    expect(racers.filter((r) => r.shardJobs.length > 0).length).toBeLessThanOrEqual(1);

    const same = await Reports.planReports({
      schedule,
      queue: memoryQueue().queue,
      intervalMinutes: 60,
      now: minutes(5),
    });
    expect(same.window).toBeUndefined();

    // Each claimed window is recorded as a run, once, with how many users it fanned out to.
    const { data: runs } = await tasksDb().entities.reportRun.query.byStart({ schedule }).go();
    expect(runs.map((r) => ({ start: r.start, end: r.end }))).toEqual([one.window, claimed[0]?.window]);
    expect(runs.every((r) => r.shards === 32 && typeof r.enqueuedAt === 'string')).toBe(true);
  });

  it('fans out one message per user to 250 users and each gets exactly one report, even when re-run', async () => {
    const users = Array.from({ length: 250 }, () => uid('fan'));
    await pool(users, 25, (userId) =>
      apply({ userId, id: uid('task'), timestamp: new Date().toISOString() }),
    );
    const { jobs, queue, drain } = memoryQueue();
    const outcome = await Reports.planReports({ schedule, queue, intervalMinutes: 60, now: minutes(10) });
    await drain();
    expect(outcome.window).toEqual({ start: minutes(5).toISOString(), end: minutes(10).toISOString() });
    // Other suites share the table (the gateway suite has its own fan-out users), so count only ours.
    const own = new Set(users);
    const mine = jobs.filter((j) => own.has(j.userId));
    expect(new Set(mine.map((j) => j.userId))).toEqual(new Set(users));
    expect(mine).toHaveLength(users.length);
    expect(mine.every((j) => j.start === outcome.window?.start && j.end === outcome.window?.end)).toBe(true);

    const store = s3ReportStore(BUCKET, client);
    const first = await pool(mine, 25, (job) => Reports.generateReport(job, { store }));
    expect(first.every((o) => o === 'stored')).toBe(true);
    const rerun = await pool(mine, 25, (job) => Reports.generateReport(job, { store }));
    expect(rerun.every((o) => o === 'exists')).toBe(true);
    for (const userId of users.slice(0, 20)) {
      const page = await Reports.listReports({ userId, limit: 50 });
      expect(page.data).toHaveLength(1);
      expect(page.data[0]?.counts).toEqual({ newIncomplete: 0, completed: 0, oldIncomplete: 1 });
    }
  });

  it("leaves a window that is still being enqueued to its planner, and takes it over after that planner's timeout", async () => {
    const own = `planner-inflight-${randomUUID()}`;
    await Reports.planReports({
      schedule: own,
      queue: memoryQueue().queue,
      intervalMinutes: 60,
      now: minutes(0),
    });
    // The next run claims (0, 5] and stalls in its enqueue, as a slow SQS call would.
    const stalled = Promise.withResolvers<void>();
    const inEnqueue = Promise.withResolvers<void>();
    const slow = memoryQueue();
    const claimer = Reports.planReports({
      schedule: own,
      queue: {
        enqueue: async (jobs) => {
          inEnqueue.resolve();
          await stalled.promise;
          await slow.queue.enqueue(jobs);
        },
      },
      intervalMinutes: 60,
      now: minutes(5),
    });
    await inEnqueue.promise;
    // A repeated invocation meanwhile, even a minute later (inside the 60 s timeout): no second fan-out.
    const during = memoryQueue();
    const repeated = await Reports.planReports({
      schedule: own,
      queue: during.queue,
      intervalMinutes: 60,
      now: new Date(minutes(5).getTime() + 59_000),
    });
    expect(repeated).toEqual({ shards: 0 });
    expect(during.shardJobs).toHaveLength(0);
    stalled.resolve();
    expect((await claimer).window).toEqual({
      start: minutes(0).toISOString(),
      end: minutes(5).toISOString(),
    });
    expect(slow.shardJobs).toHaveLength(32);

    // A claimer that died without a word (killed mid-enqueue): the first run after its timeout fans its
    // window out again, then claims the next.
    void Reports.planReports({
      schedule: own,
      queue: { enqueue: () => new Promise<void>(() => undefined) },
      intervalMinutes: 60,
      now: minutes(10),
    });
    await waitUntil('the dead run to claim (5, 10]', async () => {
      const { data } = await tasksDb().entities.reportCursor.get({ schedule: own }).go({ consistent: true });
      return data?.status === 'planning' && data.end === minutes(10).toISOString() ? true : undefined;
    });
    const early = await Reports.planReports({
      schedule: own,
      queue: memoryQueue().queue,
      intervalMinutes: 60,
      now: new Date(minutes(10).getTime() + 30_000),
    });
    expect(early).toEqual({ shards: 0 });
    const after = memoryQueue();
    const late = await Reports.planReports({
      schedule: own,
      queue: after.queue,
      intervalMinutes: 60,
      now: minutes(11),
    });
    expect(late.resumed).toEqual({ start: minutes(5).toISOString(), end: minutes(10).toISOString() });
    expect(late.window).toEqual({ start: minutes(10).toISOString(), end: minutes(11).toISOString() });
    expect(after.shardJobs).toHaveLength(64);
  });

  it("releases its claim when its fan-out fails, so the scheduler's retry takes the window over at once", async () => {
    const own = `planner-retry-${randomUUID()}`;
    await Reports.planReports({
      schedule: own,
      queue: memoryQueue().queue,
      intervalMinutes: 60,
      now: minutes(0),
    });
    await expect(
      Reports.planReports({
        schedule: own,
        queue: { enqueue: async () => Promise.reject(new Error('SQS down')) },
        intervalMinutes: 60,
        now: minutes(5),
      }),
    ).rejects.toThrow('SQS down');
    const retry = memoryQueue();
    const outcome = await Reports.planReports({
      schedule: own,
      queue: retry.queue,
      intervalMinutes: 60,
      now: new Date(minutes(5).getTime() + 2_000),
    });
    expect(outcome.resumed).toEqual({ start: minutes(0).toISOString(), end: minutes(5).toISOString() });
    expect(retry.shardJobs.filter((j) => j.end === minutes(5).toISOString())).toHaveLength(32);
  });

  it('fans out a window again when the previous run died before enqueueing', async () => {
    const userId = uid('resume');
    await apply({ userId, id: uid('task'), timestamp: new Date().toISOString() });
    const broken: ReportQueue = { enqueue: async () => Promise.reject(new Error('SQS down')) };
    await expect(
      Reports.planReports({ schedule, queue: broken, intervalMinutes: 60, now: minutes(15) }),
    ).rejects.toThrow('SQS down');
    const { jobs, queue, drain } = memoryQueue();
    const outcome = await Reports.planReports({ schedule, queue, intervalMinutes: 60, now: minutes(35) });
    await drain();
    expect(outcome.resumed).toEqual({ start: minutes(10).toISOString(), end: minutes(15).toISOString() });
    expect(outcome.window).toEqual({ start: minutes(15).toISOString(), end: minutes(35).toISOString() });
    // Both windows reach the user once each; shard jobs drain concurrently, so in no set order.
    const windows = jobs.filter((j) => j.userId === userId).map((j) => j.end);
    expect([...windows].sort()).toEqual([minutes(15).toISOString(), minutes(35).toISOString()]);
  });

  it('never scans the table while planning, generating or reading reports', async () => {
    const { client: documentClient } = dynamo();
    const send = vi.spyOn(documentClient, 'send');
    try {
      const userId = uid();
      await apply({ userId, id: uid('task'), timestamp: new Date().toISOString() });
      const { jobs, queue, drain } = memoryQueue();
      await Reports.planReports({ schedule, queue, intervalMinutes: 60, now: minutes(40) });
      await drain();
      const job = jobs.find((j) => j.userId === userId);
      expect(job).toBeDefined();
      await Reports.generateReport(job as ReportJob, { store: s3ReportStore(BUCKET, client) });
      await Reports.buildReport(userId, period);
      await Reports.listReports({ limit: 10 });
      const commands = send.mock.calls.map(([command]) => (command as object).constructor.name);
      expect(commands).toContain('QueryCommand');
      expect(commands).not.toContain('ScanCommand');
    } finally {
      send.mockRestore();
    }
  });
});

describe('read routes', () => {
  const auth = () => ({ authorization: `Bearer ${readToken}` });
  const list = (query: Record<string, string>, headers = auth()) =>
    invoke(listHandler, apiEvent({ method: 'GET', route: '/task-reports', query, headers }));
  const one = (id: string, headers = auth()) =>
    invoke(
      getReportHandler,
      apiEvent({ method: 'GET', route: '/task-reports/{id}', pathParameters: { id }, headers }),
    );
  const onDemand = (userId: string, query: Record<string, string>, headers = auth()) =>
    invoke(
      getUserReportHandler,
      apiEvent({
        method: 'GET',
        route: '/users/{userId}/task-report',
        pathParameters: { userId },
        query,
        headers,
      }),
    );

  it('lists summaries newest first with cursors, and serves each full document', async () => {
    const userId = uid();
    await apply({ userId, id: uid('task'), timestamp: iso(START - 1) });
    const store = s3ReportStore(BUCKET, client);
    const windows = [0, 1, 2].map((i) => ({
      start: iso(START + i * 3_600_000),
      end: iso(END + i * 3_600_000),
    }));
    for (const w of windows) await Reports.generateReport({ userId, ...w }, { store });

    const first = await list({ userId, limit: '2' });
    expect(first.status).toBe(200);
    expect(first.body.data.map((s: { period: unknown }) => s.period)).toEqual([windows[2], windows[1]]);
    expect(first.body.data[0]).toEqual({
      id: Reports.reportIdFor(userId, windows[2] as { start: string; end: string }),
      userId,
      period: windows[2],
      counts: { newIncomplete: 0, completed: 0, oldIncomplete: 1 },
    });
    const second = await list({ userId, limit: '2', cursor: first.body.next_cursor });
    expect(second.body.data.map((s: { period: unknown }) => s.period)).toEqual([windows[0]]);
    expect(second.body.next_cursor).toBeNull();

    const doc = await one(first.body.data[0].id);
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({ userId, period: windows[2] });
    expect(doc.body.oldIncompleteTasks).toHaveLength(1);
  });

  it('pages exactly with cursors of its own: pending reports skipped, either list takes the cursor', async () => {
    const userId = uid();
    await apply({ userId, id: uid('task'), timestamp: iso(START - 1) });
    const store = s3ReportStore(BUCKET, client);
    const day = START + 7 * 86_400_000;
    const windows = [0, 1, 2, 3, 4].map((i) => ({
      start: iso(day + i * 60_000),
      end: iso(day + (i + 1) * 60_000),
    }));
    for (const w of windows.slice(0, 4)) await Reports.generateReport({ userId, ...w }, { store });
    // The newest window's worker died after claiming it: pending, so listed nowhere.
    const crashing = {
      put: async () => Promise.reject(new Error('crashed')),
      get: async () => undefined,
      presign: async () => '',
    };
    await expect(
      Reports.generateReport({ userId, ...(windows[4] as (typeof windows)[0]) }, { store: crashing }),
    ).rejects.toThrow('crashed');

    const periods: unknown[] = [];
    let cursor: string | undefined;
    for (let pageNo = 0; pageNo < 10; pageNo++) {
      const page = await list({ userId, limit: '1', ...(cursor ? { cursor } : {}) });
      expect(page.status).toBe(200);
      expect(page.body.data).toHaveLength(1);
      periods.push(page.body.data[0].period);
      cursor = page.body.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(periods).toEqual(windows.slice(0, 4).reverse());

    // A cursor from one user's list continues the list of everyone (and the other way round).
    const mine = await list({ userId, limit: '2' });
    const everyone = await list({ limit: '5', cursor: mine.body.next_cursor });
    expect(everyone.status).toBe(200);
    const ends = everyone.body.data.map((r: { period: { end: string } }) => r.period.end);
    expect(ends.every((end: string) => end <= (windows[2]?.end ?? ''))).toBe(true);
    expect(ends).toEqual([...ends].sort().reverse());
    const all = await list({ limit: '1' });
    expect((await list({ userId, cursor: all.body.next_cursor ?? '' })).status).toBe(200);
  });

  it.each([
    ['a position that is not ours', 'x'],
    ['a DynamoDB key', Buffer.from('{"pk":"$tasks#reportid_1","sk":"$report_1"}').toString('base64url')],
    ['a position with a non-UUID id', '2026-02-01T00:00:00.000Z|not-a-uuid-at-all-but-thirty-six-ch'],
    ['a position with a bad time', '2026-02-01|00000000-0000-4000-8000-000000000000'],
  ])('answers 400, not 500, for a cursor carrying %s', async (_, position) => {
    const cursor = Buffer.from(JSON.stringify({ p: position })).toString('base64url');
    const queries: Record<string, string>[] = [{ cursor }, { cursor, userId: uid() }];
    for (const query of queries) {
      const res = await list(query);
      expect(res.status).toBe(400);
      expect(res.body.error.errors).toHaveProperty('cursor');
    }
  });

  it('answers 400 for a bad limit or userId', async () => {
    const queries: Record<string, string>[] = [
      { limit: '0' },
      { limit: '101' },
      { limit: 'ten' },
      { userId: 'has space' },
    ];
    for (const query of queries) {
      expect((await list(query)).status).toBe(400);
    }
    expect((await list({ limit: '100' })).status).toBe(200);
  });

  it('answers 404 for an unknown report and 400 for a non-UUID id', async () => {
    expect((await one('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await one('nope')).status).toBe(400);
  });

  it('computes a report on demand without storing it', async () => {
    const { userId, ids } = await edgeUser();
    const res = await onDemand(userId, { from: period.start, to: period.end });
    expect(res.status).toBe(200);
    expect(res.body.completedTasks.map((t: { id: string }) => t.id)).toEqual([ids('completed-at-end')]);
    expect((await Reports.listReports({ userId, limit: 10 })).data).toEqual([]);
    const offset = await onDemand(userId, {
      from: '2026-02-01T01:00:00+01:00',
      to: '2026-02-01T02:00:00+01:00',
    });
    expect(offset.body.period).toEqual(period);
  });

  it.each([
    ['missing from', { to: '2026-02-02T00:00:00Z' }, 'from'],
    ['missing to', { from: '2026-02-01T00:00:00Z' }, 'to'],
    ['a bad from', { from: 'yesterday', to: '2026-02-02T00:00:00Z' }, 'from'],
    ['from = to', { from: '2026-02-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }, 'to'],
    ['from after to', { from: '2026-02-02T00:00:00Z', to: '2026-02-01T00:00:00Z' }, 'to'],
    ['more than 31 days', { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:01Z' }, 'to'],
  ])('answers 400 for %s', async (_, query, field) => {
    const res = await onDemand(uid(), query);
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty(field);
  });

  it('accepts exactly 31 days', async () => {
    expect((await onDemand(uid(), { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' })).status).toBe(
      200,
    );
  });

  it('answers 401 without a token and 403 without the tasks:read scope', async () => {
    expect((await list({}, {} as ReturnType<typeof auth>)).status).toBe(401);
    const other = `Bearer ${await issuer.token('visits:read')}`;
    expect((await list({}, { authorization: other })).status).toBe(403);
    expect((await one('00000000-0000-4000-8000-000000000000', { authorization: other })).status).toBe(403);
    expect(
      (await onDemand(uid(), { from: period.start, to: period.end }, { authorization: other })).status,
    ).toBe(403);
  });
});

describe('report consumer (SQS)', () => {
  const sqsEvent = (bodies: string[]): SQSEvent => ({
    Records: bodies.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:task-reports',
      awsRegion: 'us-east-1',
    })),
  });

  it('stores a report per message, drops malformed ones, and reports failures per record', async () => {
    const userId = uid();
    await apply({ userId, id: uid('task'), timestamp: iso(START + 1) });
    const good = JSON.stringify({ userId, ...period });
    const result = await generateHandler(
      sqsEvent([good, '{"userId":', JSON.stringify({ userId: 'x' })]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([]);
    const page = await Reports.listReports({ userId, limit: 10 });
    expect(page.data).toHaveLength(1);
    const replay = await generateHandler(sqsEvent([good]), lambdaContext());
    expect(replay.batchItemFailures).toEqual([]);
    expect((await Reports.listReports({ userId, limit: 10 })).data).toHaveLength(1);
  });
});
