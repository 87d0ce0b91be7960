import { createHash, randomUUID } from 'node:crypto';
import {
  encodeCursor,
  isConditionFailure,
  mergeShards,
  metrics,
  NotFound,
  type Page,
  readPosition,
  transactionCodes,
  ValidationFailed,
} from '@svc/platform';
import * as v from 'valibot';
import { candidateReader, settleOpen, shardOf } from './candidates.js';
import {
  type CarryForwardReads,
  CHANGE_RETENTION_DAYS,
  carryForward,
  carryForwardSince,
  type ReportBase,
} from './carry-forward.js';
import { CANDIDATE_SHARDS, REPORT_LIST_SHARDS, tasksDb } from './entities.js';
import { TasksMetric } from './metrics.js';
import type { ReportJob, ReportQueue, ReportStore, ShardJob } from './ports.js';
import { assembleReport, reportTask } from './report-document.js';
import { PLANNER_TIMEOUT_SECONDS, REPORT_SCHEDULE } from './routes.js';
import {
  type Period,
  type ReportDocument,
  ReportJobMessage,
  type ReportSummary,
  ShardJobMessage,
} from './schemas.js';

/** S3 object name of a stored report (SPEC §2). */
export const objectKeyFor = (userId: string, period: Period) =>
  `task_report_${userId}_${period.start}_${period.end}.json`;

const REPORT_NAMESPACE = 'tasks-report-v1';

/** A UUID (RFC 9562 v8, name-based) derived from (user, window): the same window always has the same id. */
export function reportIdFor(userId: string, period: Period): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify([REPORT_NAMESPACE, userId, period.start, period.end]))
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The largest document a Lambda response carries here: API Gateway and Lambda cap a response at 6 MB,
 * and the JSON body is escaped once more inside the proxy response, so 4 MiB leaves room for that.
 */
export const INLINE_REPORT_BYTES = 4 * 1024 * 1024;

/** The on-demand report is larger than a response may be (SPEC §2: bounded, 422 naming the limit). */
export class ReportTooLarge extends ValidationFailed {
  constructor(limitBytes: number) {
    super(
      { report: [`is larger than ${limitBytes} bytes, the most an on-demand report returns`] },
      `The report is larger than ${limitBytes} bytes (${limitBytes / 1024 / 1024} MiB), the most an on-demand report returns; stored reports of any size are served by GET /task-reports/{id}.`,
    );
  }
}

export interface BuildOptions {
  /** Stop reading and throw ReportTooLarge once the tasks read exceed this many bytes of JSON. */
  maxBytes?: number;
}

/**
 * The SPEC §2 document for one user and window (start, end]: two Queries on the user's sparse indexes
 * (open tasks; completions in the window), so the cost follows that user's tasks, never the table.
 * A task at exactly `end` is in the window; one at exactly `start` is not. Read cost per user: one
 * page (≤ 1 MB, ~0.5 RCU per 4 KB) per ~1 MB of the user's open tasks plus the window's completions.
 */
export async function buildReport(
  userId: string,
  period: Period,
  options: BuildOptions = {},
): Promise<ReportDocument> {
  const tasks = tasksDb().entities.task;
  let bytes = 0;
  const all = async <T extends { content: string }>(
    page: (cursor: string | null) => Promise<{ data: T[]; cursor: string | null }>,
  ) => {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const result = await page(cursor);
      out.push(...result.data);
      if (options.maxBytes !== undefined) {
        // The document's size, from above: each task's content plus ~150 bytes of ids and times.
        for (const t of result.data) bytes += Buffer.byteLength(t.content) + 150;
        if (bytes > options.maxBytes) throw new ReportTooLarge(options.maxBytes);
      }
      cursor = result.cursor;
    } while (cursor);
    return out;
  };
  const [open, completed] = await Promise.all([
    all((cursor) => tasks.query.openByUser({ userId }).go({ cursor, pages: 1 })),
    all((cursor) =>
      tasks.query
        .completedByUser({ userId })
        .between({ completionKey: period.start }, { completionKey: period.end })
        .go({ cursor, pages: 1 }),
    ),
  ]);
  const document = assembleReport(userId, period, open.map(reportTask), completed);
  if (options.maxBytes !== undefined && Buffer.byteLength(JSON.stringify(document)) > options.maxBytes) {
    throw new ReportTooLarge(options.maxBytes);
  }
  return document;
}

/** True when the user still has open tasks after this report (they stay a candidate of later windows). */
const hasOpen = (doc: ReportDocument) => doc.newIncompleteTasks.length + doc.oldIncompleteTasks.length > 0;

export const isEmpty = (doc: ReportDocument) =>
  doc.newIncompleteTasks.length + doc.completedTasks.length + doc.oldIncompleteTasks.length === 0;

export interface PlanDeps {
  queue: ReportQueue;
  intervalMinutes: number;
  now?: Date;
  /** Which schedule's windows to plan (one cursor per schedule); default the `task-reports` schedule. */
  schedule?: string;
  /** Report retention (days): run records and checkpoints expire with the reports. */
  retentionDays?: number;
}

export interface PlanOutcome {
  /** The window this run claimed, if any (none when another run got it first). */
  window?: Period;
  /** Shard jobs enqueued for that window. */
  shards: number;
  /** A previous window whose shard jobs had not all been enqueued, and were (again). */
  resumed?: Period;
}

const DAY_SECONDS = 86_400;
const expiry = (iso: string, days: number) => Math.floor(Date.parse(iso) / 1000) + days * DAY_SECONDS;

/** Every shard job of a window: the planner's whole fan-out, independent of how many users there are. */
async function enqueueShards(queue: ReportQueue, schedule: string, window: Period): Promise<number> {
  const jobs: ShardJob[] = Array.from({ length: CANDIDATE_SHARDS }, (_, i) => ({
    kind: 'shard',
    schedule,
    shard: String(i),
    start: window.start,
    end: window.end,
  }));
  await queue.enqueue(jobs);
  return jobs.length;
}

/**
 * The scheduled planner. Its work is constant (a cursor read, one claim, one shard job per candidate
 * shard), so it can never time out on a large population:
 * 1. a window whose shard jobs a previous run may not have enqueued (the cursor is still `planning` a
 *    planner timeout after its claim: that run died after claiming) is enqueued again first — shard jobs
 *    are idempotent; one still within its claimer's timeout is left to that run, and so is the next;
 * 2. it claims the next window (end of the previous one, now] — the first run covers one interval —
 *    with a conditional write on the previous end, so concurrent or repeated invocations claim it once;
 * 3. it enqueues the window's shard jobs, which find the candidates (planShard) in parallel, each
 *    checkpointing its progress. A slow or cut-short shard never holds up the next window.
 */
export async function planReports(deps: PlanDeps): Promise<PlanOutcome> {
  const db = tasksDb();
  const now = deps.now ?? new Date();
  const end = now.toISOString();
  const schedule = deps.schedule ?? REPORT_SCHEDULE;
  const retentionDays = deps.retentionDays ?? 90;
  const { data: cursor } = await db.entities.reportCursor.get({ schedule }).go({ consistent: true });
  const outcome: PlanOutcome = { shards: 0 };

  if (cursor?.status === 'planning') {
    // The run that claimed it may still be enqueueing (a concurrent or repeated invocation): it has
    // surely ended once its timeout has passed since its claim. Until then, leave both its window and
    // the next one to it (claiming the next would take the cursor it still has to mark).
    if (now.getTime() - Date.parse(cursor.claimedAt) < PLANNER_TIMEOUT_SECONDS * 1000) return outcome;
    const window = { start: cursor.start, end: cursor.end };
    const shards = await fanOut(deps.queue, schedule, window);
    await markEnqueued(schedule, window, shards);
    outcome.resumed = window;
  }

  const start = cursor?.end ?? new Date(now.getTime() - deps.intervalMinutes * 60_000).toISOString();
  if (start >= end) return outcome;
  const window = { start, end };
  const claim = await db.transaction
    .write(({ reportCursor, reportRun }) => [
      reportCursor
        .put({ schedule, ...window, status: 'planning', claimedAt: end })
        .where((a, op) => (cursor ? op.eq(a.end, cursor.end) : op.notExists(a.end)))
        .commit(),
      reportRun
        .create({ schedule, ...window, claimedAt: end, expiresAt: expiry(end, retentionDays) })
        .commit(),
    ])
    .go();
  // A condition failure means another run claimed a window from the same previous end first.
  if (transactionCodes(claim)) return outcome;
  // 0 for a run on time; one interval or more when a run was missed (the SLO alarm's source).
  const lagMs = now.getTime() - Date.parse(start) - deps.intervalMinutes * 60_000;
  metrics.record(TasksMetric.runLag, 'Seconds', Math.max(0, Math.round(lagMs / 1000)));
  outcome.window = window;
  outcome.shards = await fanOut(deps.queue, schedule, window);
  await markEnqueued(schedule, window, outcome.shards);
  return outcome;
}

/**
 * Enqueues a claimed window's shard jobs. If that fails, the claim is released before the error goes on
 * (its claim time set to the epoch), so the scheduler's retry takes the window over at once instead of
 * waiting out the planner's timeout, which only a run that died without a word has to wait for.
 */
async function fanOut(queue: ReportQueue, schedule: string, window: Period): Promise<number> {
  try {
    return await enqueueShards(queue, schedule, window);
  } catch (error) {
    await tasksDb()
      .entities.reportCursor.patch({ schedule })
      .set({ claimedAt: new Date(0).toISOString() })
      .where((a, op) => `${op.eq(a.end, window.end)} AND ${op.eq(a.status, 'planning')}`)
      .go()
      .catch(() => undefined);
    throw error;
  }
}

async function markEnqueued(schedule: string, window: Period, shards: number) {
  const db = tasksDb();
  const at = new Date().toISOString();
  await db.entities.reportRun.patch({ schedule, start: window.start }).set({ shards, enqueuedAt: at }).go();
  await db.entities.reportCursor
    .patch({ schedule })
    .set({ status: 'enqueued' })
    .where((a, op) => op.eq(a.end, window.end))
    .go()
    .catch((error: unknown) => {
      // A newer window was claimed meanwhile: the cursor is no longer ours to mark.
      if (!isConditionFailure(error)) throw error;
    });
}

export interface ShardDeps {
  queue: ReportQueue;
  /** Milliseconds this invocation has left (Lambda's context); the job pauses before running out. */
  remainingMs?: () => number;
  now?: () => number;
  /** Stop with this much time left, after saving the checkpoint. */
  reserveMs?: number;
  /** Users enqueued per checkpoint. */
  batch?: number;
  retentionDays?: number;
  /** Tests: stop (as if killed) after this many batches, without saving anything more. */
  crashAfterBatches?: number;
}

export interface ShardOutcome {
  status: 'done' | 'paused' | 'busy' | 'lost';
  /** Users enqueued by this invocation. */
  users: number;
  /** DynamoDB pages read for candidates by this invocation. */
  reads: number;
}

/**
 * One shard job: enqueues a report job for every candidate of one shard and window, in user id order,
 * saving the last user id enqueued after every batch. It holds a lease on its checkpoint so two
 * deliveries of the same job never run together; a redelivery after a crash or timeout takes over once
 * the lease has passed and continues after the checkpoint (the batch in flight may be enqueued twice;
 * report workers are idempotent). With too little time left it saves and answers `paused`, and the
 * consumer enqueues the job again to continue. A `done` shard is never read again.
 */
export async function planShard(job: ShardJob, deps: ShardDeps): Promise<ShardOutcome> {
  const shards = tasksDb().entities.reportShard;
  const now = deps.now ?? Date.now;
  const remaining = deps.remainingMs ?? (() => 60_000);
  const reserve = deps.reserveMs ?? 10_000;
  const retentionDays = deps.retentionDays ?? 90;
  const key = { schedule: job.schedule, start: job.start, shard: job.shard };
  const { data: seen } = await shards.get(key).go({ consistent: true });
  if (seen?.status === 'done') return { status: 'done', users: 0, reads: 0 };
  if (seen?.leaseUntil !== undefined && seen.leaseUntil > now())
    return { status: 'busy', users: 0, reads: 0 };

  // The lease lasts as long as this invocation can: after that its holder is certainly gone.
  const leaseId: string = randomUUID();
  let users = seen?.users ?? 0;
  let after = seen?.after;
  try {
    await shards
      .put({
        ...key,
        end: job.end,
        status: 'running',
        users,
        ...(after !== undefined ? { after } : {}),
        leaseId,
        leaseUntil: now() + remaining(),
        updatedAt: new Date(now()).toISOString(),
        expiresAt: expiry(job.end, retentionDays),
      })
      .where((a, op) => (seen ? op.eq(a.updatedAt, seen.updatedAt) : op.notExists(a.updatedAt)))
      .go({ response: 'none' });
  } catch (error) {
    if (isConditionFailure(error)) return { status: 'busy', users: 0, reads: 0 };
    throw error;
  }

  const reader = candidateReader(job.shard, job, after);
  const batch = deps.batch ?? 250;
  let enqueued = 0;
  for (let batches = 0; ; batches++) {
    if (deps.crashAfterBatches !== undefined && batches >= deps.crashAfterBatches) {
      return { status: 'lost', users: enqueued, reads: reader.requests };
    }
    if (remaining() < reserve) {
      // Out of time: save where we are and let the next delivery take over at once.
      await saveOwned('running', 0);
      return { status: 'paused', users: enqueued, reads: reader.requests };
    }
    const ids = await reader.next(batch);
    if (ids.length === 0) break;
    await deps.queue.enqueue(ids.map((userId) => ({ userId, start: job.start, end: job.end })));
    enqueued += ids.length;
    users += ids.length;
    after = ids.at(-1);
    if (!(await saveOwned('running', now() + remaining()))) {
      return { status: 'lost', users: enqueued, reads: reader.requests };
    }
  }
  await saveOwned('done');
  return { status: 'done', users: enqueued, reads: reader.requests };

  /** Saves progress while this invocation still holds the lease; false when another took it over. */
  async function saveOwned(status: 'running' | 'done', leaseUntil?: number): Promise<boolean> {
    try {
      await shards
        .put({
          ...key,
          end: job.end,
          status,
          users,
          ...(after !== undefined ? { after } : {}),
          ...(leaseUntil !== undefined && status === 'running' ? { leaseId, leaseUntil } : {}),
          updatedAt: new Date(now()).toISOString(),
          expiresAt: expiry(job.end, retentionDays),
        })
        .where((a, op) => op.eq(a.leaseId, leaseId))
        .go({ response: 'none' });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** Progress of every shard job of one window (operators, tests and the bench). */
export async function windowProgress(schedule: string, start: string) {
  const { data } = await tasksDb()
    .entities.reportShard.query.byWindow({ schedule, start })
    .go({ pages: 'all' });
  return {
    shards: data.length,
    done: data.filter((d) => d.status === 'done').length,
    users: data.reduce((n, d) => n + d.users, 0),
  };
}

/** A queue message body as a job, or undefined when it is not one (it can never succeed). */
export function parseReportJob(body: string): ReportJob | undefined {
  const parsed = parseMessage(body);
  return parsed && !('kind' in parsed) ? parsed : undefined;
}

/** A report queue message: one user's report job, or one shard job of a window. */
export function parseMessage(body: string): ReportJob | ShardJob | undefined {
  try {
    const json: unknown = JSON.parse(body);
    const isShard =
      typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'shard';
    const parsed = v.safeParse(isShard ? ShardJobMessage : ReportJobMessage, json);
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

export interface GenerateDeps {
  store: ReportStore;
  now?: () => number;
  leaseMs?: number;
  /** Days a stored report is kept (index TTL; the bucket's lifecycle rule uses the same setting). */
  retentionDays?: number;
}

/** A report for this (user, window) is being written by another worker; SQS will retry later. */
export class ReportInProgress extends Error {
  constructor() {
    super('Another worker holds this report');
    this.name = 'ReportInProgress';
  }
}

export type GenerateOutcome = 'stored' | 'exists' | 'empty';

/**
 * The report worker for one (user, window). Idempotent: the index item's id is derived from
 * (user, window) and created conditionally with a lease, so retries, duplicate messages and re-runs
 * of the window never write a second report. A lease abandoned by a crashed worker is taken over.
 */
export async function generateReport(job: ReportJob, deps: GenerateDeps): Promise<GenerateOutcome> {
  const outcome = await generateOnce(job, deps);
  metrics.count(TasksMetric.reports, { outcome });
  return outcome;
}

async function generateOnce(job: ReportJob, deps: GenerateDeps): Promise<GenerateOutcome> {
  const reports = tasksDb().entities.report;
  const period = { start: job.start, end: job.end };
  const reportId = reportIdFor(job.userId, period);
  const { data: existing } = await reports.get({ reportId }).go({ consistent: true });
  if (existing?.status === 'stored') return 'exists';

  const { document, builtFrom } = await reportOfWindow(job.userId, period, deps.store);
  if (isEmpty(document) && !existing) {
    await settleOpen(job.userId, period.end, false);
    return 'empty';
  }

  const now = deps.now ?? Date.now;
  const leaseId: string = randomUUID();
  const objectKey = objectKeyFor(job.userId, period);
  try {
    await reports
      .put({
        reportId,
        userId: job.userId,
        periodStart: period.start,
        periodEnd: period.end,
        status: 'pending',
        leaseId,
        leaseUntil: now() + (deps.leaseMs ?? 60_000),
        objectKey,
        listShard: shardOf(reportId, REPORT_LIST_SHARDS),
      })
      .where(
        (a, op) =>
          `${op.notExists(a.reportId)} OR (${op.eq(a.status, 'pending')} AND ${op.lt(a.leaseUntil, now())})`,
      )
      .go();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const { data: other } = await reports.get({ reportId }).go({ consistent: true });
    if (other?.status === 'stored') return 'exists';
    throw new ReportInProgress();
  }

  const body = JSON.stringify(document);
  await deps.store.put(objectKey, body);
  // The open set follows what this report saw, before the report counts as stored (a crash here is
  // retried by SQS and does both again).
  await settleOpen(job.userId, period.end, hasOpen(document));
  // Written whole (both lists are sparse on `stored`, so ElectroDB wants every key attribute).
  await reports
    .put({
      reportId,
      userId: job.userId,
      periodStart: period.start,
      periodEnd: period.end,
      status: 'stored',
      objectKey,
      bytes: Buffer.byteLength(body),
      storedAt: new Date(now()).toISOString(),
      newIncomplete: document.newIncompleteTasks.length,
      completed: document.completedTasks.length,
      oldIncomplete: document.oldIncompleteTasks.length,
      listShard: shardOf(reportId, REPORT_LIST_SHARDS),
      builtFrom,
      // From when it is stored, like the bucket's expiration rule (days after the object's creation).
      expiresAt: expiry(new Date(now()).toISOString(), deps.retentionDays ?? 90),
    })
    .where((a, op) => op.eq(a.leaseId, leaseId))
    .go({ response: 'none' });
  return 'stored';
}

/** How a window's report was read: from a previous report carried forward, or the user's whole open set. */
export type ReportReads = { mode: 'carried'; base: string; reads: CarryForwardReads } | { mode: 'full' };

const nextMs = (iso: string) => new Date(Date.parse(iso) + 1).toISOString();

/**
 * The user's newest stored report that ended by `start` and can be carried forward: built (with
 * `builtFrom`) after carry-forward was switched on, recent enough that the change records since it are
 * still kept, within retention, and its document still in the store. Else undefined (a full read).
 */
async function baseFor(
  userId: string,
  start: string,
  store: ReportStore,
): Promise<({ id: string } & ReportBase) | undefined> {
  const switchedOn = await carryForwardSince();
  if (!switchedOn) return undefined;
  const { data } = await tasksDb()
    .entities.report.query.byUser({ userId })
    .lt({ periodEnd: nextMs(start) })
    .go({ order: 'desc', limit: 1, count: 1 });
  const last = data[0];
  const now = Date.now();
  if (!last?.builtFrom || last.builtFrom < switchedOn || !live(last, Math.floor(now / 1000)))
    return undefined;
  if (Date.parse(last.builtFrom) < now - (CHANGE_RETENTION_DAYS - 1) * DAY_SECONDS * 1000) return undefined;
  const document = await store.get(last.objectKey);
  if (!document) return undefined;
  return { id: last.reportId, periodEnd: last.periodEnd, builtFrom: last.builtFrom, document };
}

/**
 * A window's report for the report worker: carried forward from the user's previous report when there is
 * a usable one (reads grow with what changed), else the full read. `builtFrom` is taken before any read.
 */
export async function reportOfWindow(
  userId: string,
  period: Period,
  store: ReportStore,
  /** Tests and the bench: a shorter change grace than CHANGE_GRACE_MS, to count exactly what changed. */
  options: { changeGraceMs?: number } = {},
): Promise<{ document: ReportDocument; builtFrom: string; how: ReportReads }> {
  const builtFrom = new Date().toISOString();
  const base = await baseFor(userId, period.start, store);
  if (!base) return { document: await buildReport(userId, period), builtFrom, how: { mode: 'full' } };
  const { document, reads } = await carryForward(userId, period, base, options.changeGraceMs);
  return { document, builtFrom, how: { mode: 'carried', base: base.id, reads } };
}

type ReportItem = {
  reportId: string;
  userId: string;
  periodStart: string;
  periodEnd: string;
  newIncomplete?: number;
  completed?: number;
  oldIncomplete?: number;
};

const summaryOf = (r: ReportItem): ReportSummary => ({
  id: r.reportId,
  userId: r.userId,
  period: { start: r.periodStart, end: r.periodEnd },
  counts: {
    newIncomplete: r.newIncomplete ?? 0,
    completed: r.completed ?? 0,
    oldIncomplete: r.oldIncomplete ?? 0,
  },
});

/** A list cursor is the last (periodEnd, reportId) returned: both list indexes sort by exactly that. */
const REPORT_POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

function positionOf(cursor: string | undefined): { periodEnd: string; reportId: string } | undefined {
  const position = readPosition(cursor, REPORT_POSITION);
  return position && { periodEnd: position[0], reportId: position[1] };
}

const newestFirst = (a: ReportItem, b: ReportItem) =>
  b.periodEnd.localeCompare(a.periodEnd) || b.reportId.localeCompare(a.reportId);

/** Still listed: stored and within retention (DynamoDB's TTL deletes a little after `expiresAt`). */
const live = (r: { status?: string; expiresAt?: number | undefined }, nowSeconds: number) =>
  r.status === 'stored' && (r.expiresAt === undefined || r.expiresAt > nowSeconds);

/**
 * Stored report summaries, newest window first, for one user (one partition of gsi1) or for everyone
 * (the REPORT_LIST_SHARDS partitions of gsi2, merged). The cursor is our own position (periodEnd,
 * reportId), which both lists sort by, so it is exact across shards, a forged one is a 400, and one
 * from the other list still works.
 */
export async function listReports(query: {
  userId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<ReportSummary>> {
  const before = positionOf(query.cursor);
  const reports = tasksDb().entities.report;
  const take = query.limit + 1;
  const nowSeconds = Math.floor(Date.now() / 1000);
  const stored = { order: 'desc', limit: take, count: take } as const;
  const isLive = (
    a: { status: unknown; expiresAt: unknown },
    op: {
      eq: (a: unknown, v: unknown) => string;
      gt: (a: unknown, v: unknown) => string;
      notExists: (a: unknown) => string;
    },
  ) => `${op.eq(a.status, 'stored')} AND (${op.notExists(a.expiresAt)} OR ${op.gt(a.expiresAt, nowSeconds)})`;
  let items: ReportItem[];
  let more: boolean;
  if (query.userId) {
    const base = reports.query.byUser({ userId: query.userId });
    const { data } = await (before ? base.lt(before) : base).where(isLive).go(stored);
    items = data.slice(0, query.limit);
    more = data.length > query.limit;
  } else {
    const shards = Array.from({ length: REPORT_LIST_SHARDS }, (_, i) => async () => {
      const base = reports.query.byTime({ listShard: String(i) });
      return (await (before ? base.lt(before) : base).where(isLive).go(stored)).data;
    });
    ({ items, more } = await mergeShards(shards, newestFirst, query.limit));
  }
  const last = items.at(-1);
  return {
    data: items.map(summaryOf),
    next_cursor: more && last ? encodeCursor(`${last.periodEnd}|${last.reportId}`) : null,
  };
}

/** How a stored report is served: inline, or (too large for a Lambda response) a presigned S3 URL. */
export type ServedReport = { document: ReportDocument } | { location: string };

/** Presigned URLs stay valid this long (SPEC §2: at least 5 minutes). */
export const PRESIGNED_URL_SECONDS = 15 * 60;

/** The full stored document of one report, or where to fetch it when it is too large to return. */
export async function getReport(
  reportId: string,
  store: ReportStore,
  inlineMaxBytes = INLINE_REPORT_BYTES,
): Promise<ServedReport> {
  const { data } = await tasksDb().entities.report.get({ reportId }).go();
  if (!data || !live(data, Math.floor(Date.now() / 1000))) throw new NotFound('Report not found.');
  if (data.bytes !== undefined && data.bytes > inlineMaxBytes) {
    return { location: await store.presign(data.objectKey, PRESIGNED_URL_SECONDS) };
  }
  const document = await store.get(data.objectKey);
  if (!document) throw new NotFound('Report not found.');
  // Reports indexed before their size was recorded are measured here.
  if (data.bytes === undefined && Buffer.byteLength(JSON.stringify(document)) > inlineMaxBytes) {
    return { location: await store.presign(data.objectKey, PRESIGNED_URL_SECONDS) };
  }
  return { document };
}
