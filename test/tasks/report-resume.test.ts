import { randomUUID } from 'node:crypto';
import { ensureTable } from '@svc/local/dynamodb';
import { startLocalS3 } from '@svc/local/s3-server';
import { type ReportJob, type ReportQueue, Reports, type ShardJob, s3ReportStore, Tasks } from '@svc/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/pool.js';
import { taskEvent, uid } from './support.js';

/**
 * SPEC §8: a report run cut short (a shard job killed at its timeout, or pausing when out of time)
 * resumes exactly where it stopped, never keeps later windows from running, and every user gets exactly
 * one report per window — also when the scheduler invokes the planner twice (issue 14's duplicates).
 */
const BUCKET = 'task-reports-resume';
let s3: Awaited<ReturnType<typeof startLocalS3>>;
beforeAll(async () => {
  // Its own table: the suite's shared one is also scanned by the report planners of other files' runtimes
  // (their 1-minute dev schedules), which would give these users reports for windows of their own.
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) throw new Error('run through vitest');
  const table = `svc-resume-${randomUUID().slice(0, 8)}`;
  await ensureTable(endpoint, table);
  process.env.TABLE_NAME = table;
  s3 = await startLocalS3({ buckets: [BUCKET] });
  Object.assign(process.env, { REPORTS_BUCKET: BUCKET, AWS_ENDPOINT_URL_S3: s3.endpoint });
});
afterAll(() => s3?.stop());

/** SQS in memory: what was sent, in order, and which of it is still to be delivered. */
function memoryQueue() {
  const userJobs: ReportJob[] = [];
  const shardJobs: ShardJob[] = [];
  const queue: ReportQueue = {
    async enqueue(batch) {
      for (const job of batch) {
        if ('kind' in job) shardJobs.push(job);
        else userJobs.push(job);
      }
    },
  };
  return { queue, userJobs, shardJobs };
}

describe('a report run cut short', { timeout: 240_000 }, () => {
  const schedule = `resume-${randomUUID()}`;
  const openUsers = Array.from({ length: 60 }, () => uid('open'));
  const doneUsers = Array.from({ length: 20 }, () => uid('done'));

  it('resumes exactly, lets later windows run, and gives every user one report per window', async () => {
    // 60 users with an open task, 20 who created and completed one (activity, nothing left open).
    const at = new Date().toISOString();
    await pool(openUsers, 10, (userId) =>
      Tasks.applyWebhookEvent(taskEvent({ userId, id: uid('t'), timestamp: at })),
    );
    await pool(doneUsers, 10, async (userId) => {
      const id = uid('t');
      await Tasks.applyWebhookEvent(taskEvent({ userId, id, timestamp: at }));
      await Tasks.applyWebhookEvent(
        taskEvent({ userId, id, event: 'updated', timestamp: at, isCompleted: true }),
      );
    });
    const ours = new Set([...openUsers, ...doneUsers]);
    const base = Date.now() + 1000;

    // Window 1 is claimed; its shard jobs are cut short: half killed after one batch (lease still held,
    // as when Lambda times out), half run out of time after one batch and pause (checkpoint saved).
    const one = memoryQueue();
    const w1 = await Reports.planReports({
      schedule,
      queue: one.queue,
      intervalMinutes: 60,
      now: new Date(base),
    });
    expect(w1.window).toBeDefined();
    expect(one.shardJobs).toHaveLength(32);
    const first = one.shardJobs.splice(0);
    const killed = first.filter((_, i) => i % 2 === 0);
    const pausing = first.filter((_, i) => i % 2 === 1);
    const cut = await Promise.all([
      ...killed.map((job) => Reports.planShard(job, { queue: one.queue, batch: 1, crashAfterBatches: 1 })),
      ...pausing.map((job) => {
        let calls = 0;
        // Plenty of time for the lease and one batch, then too little.
        const remainingMs = () => (calls++ < 2 ? 60_000 : 1_000);
        return Reports.planShard(job, { queue: one.queue, batch: 1, remainingMs });
      }),
    ]);
    const progress1 = await Reports.windowProgress(schedule, w1.window?.start ?? '');
    expect(progress1.done).toBeLessThan(32);
    const cutUsers = one.userJobs.filter((j) => ours.has(j.userId)).length;
    expect(cutUsers).toBeLessThan(ours.size);
    expect(cut.some((o) => o.status === 'paused')).toBe(true);

    // Window 2 runs while window 1 is unfinished, planned by two duplicate invocations at once.
    const two = memoryQueue();
    const [a, b] = await Promise.all([
      Reports.planReports({ schedule, queue: two.queue, intervalMinutes: 60, now: new Date(base + 60_000) }),
      Reports.planReports({ schedule, queue: two.queue, intervalMinutes: 60, now: new Date(base + 60_000) }),
    ]);
    const w2 = (a?.window ?? b?.window) as { start: string; end: string };
    expect([a?.window, b?.window].filter(Boolean)).toHaveLength(1);
    expect(w2.start).toBe(w1.window?.end);
    // Every shard job delivered (duplicates too), side by side.
    const w2Jobs = two.shardJobs.splice(0);
    await Promise.all(w2Jobs.map((job) => Reports.planShard(job, { queue: two.queue })));
    expect((await Reports.windowProgress(schedule, w2.start)).done).toBe(32);

    // Window 1 resumes: the paused jobs' continuations at once, the killed ones' redeliveries once their
    // lease has passed (a redelivery before that is turned away: no two runs of one shard overlap).
    const early = await Reports.planShard(killed[0] as ShardJob, { queue: one.queue });
    const anyHeld = cut[0]?.status === 'lost';
    if (anyHeld) expect(early.status).toBe('busy');
    const later = Date.now() + 120_000;
    const resumed = await Promise.all(
      [...killed, ...pausing].map((job) => Reports.planShard(job, { queue: one.queue, now: () => later })),
    );
    expect(resumed.every((o) => o.status === 'done')).toBe(true);
    expect((await Reports.windowProgress(schedule, w1.window?.start ?? '')).done).toBe(32);
    // A late duplicate of a finished shard job does nothing.
    expect((await Reports.planShard(killed[0] as ShardJob, { queue: one.queue })).status).toBe('done');

    // Exactly where it stopped: each of our users was enqueued once for window 1, before or after the cut.
    const w1Ours = one.userJobs.filter((j) => ours.has(j.userId)).map((j) => j.userId);
    expect(w1Ours.sort()).toEqual([...ours].sort());
    // Window 2's candidates: every user with open tasks (and, within the activity buckets it reads,
    // those who were active just before it: a superset the worker settles as "nothing to report").
    const w2Ours = new Set(two.userJobs.map((j) => j.userId));
    expect(openUsers.filter((u) => !w2Ours.has(u))).toEqual([]);

    // The workers (every message, duplicates included): one report per user and window.
    const store = s3ReportStore();
    const jobs = [...one.userJobs, ...two.userJobs].filter((j) => ours.has(j.userId));
    await pool(jobs, 8, (job) => Reports.generateReport(job, { store }));
    await pool(jobs.slice(0, 20), 8, (job) => Reports.generateReport(job, { store }));
    for (const userId of openUsers.slice(0, 15)) {
      const { data } = await Reports.listReports({ userId, limit: 10 });
      expect(data.map((r) => r.period)).toEqual([w2, w1.window]);
    }
    for (const userId of doneUsers.slice(0, 10)) {
      const { data } = await Reports.listReports({ userId, limit: 10 });
      expect(data.map((r) => r.period)).toEqual([w1.window]);
      expect(data[0]?.counts).toEqual({ newIncomplete: 0, completed: 1, oldIncomplete: 0 });
    }
  });
});
