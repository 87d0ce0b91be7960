import { createHash, randomUUID } from 'node:crypto';
import {
  encodeCursor,
  isConditionFailure,
  NotFound,
  type Page,
  readPosition,
  transactionCodes,
} from '@svc/platform';
import * as v from 'valibot';
import { tasksDb, USER_SHARDS } from './entities.js';
import type { ReportJob, ReportQueue, ReportStore } from './ports.js';
import { REPORT_SCHEDULE } from './routes.js';
import {
  type Period,
  type ReportDocument,
  ReportJobMessage,
  type ReportSummary,
  type ReportTask,
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

async function all<T>(page: (cursor: string | null) => Promise<{ data: T[]; cursor: string | null }>) {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const result = await page(cursor);
    out.push(...result.data);
    cursor = result.cursor;
  } while (cursor);
  return out;
}

const byCreated = (a: ReportTask, b: ReportTask) =>
  a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/**
 * The SPEC §2 document for one user and window (start, end]: two Queries on the user's sparse indexes
 * (open tasks; completions in the window), so the cost follows that user's tasks, never the table.
 * A task at exactly `end` is in the window; one at exactly `start` is not.
 */
export async function buildReport(userId: string, period: Period): Promise<ReportDocument> {
  const tasks = tasksDb().entities.task;
  const [open, completed] = await Promise.all([
    all((cursor) => tasks.query.openByUser({ userId }).go({ cursor, pages: 1 })),
    all((cursor) =>
      tasks.query
        .completedByUser({ userId })
        .between({ completionKey: period.start }, { completionKey: period.end })
        .go({ cursor, pages: 1 }),
    ),
  ]);
  const shape = (t: (typeof open)[number]): ReportTask => ({
    id: t.taskId,
    content: t.content,
    createdAt: t.createdAt,
    completedAt: t.completedAt ?? null,
  });
  return {
    userId,
    period: { start: period.start, end: period.end },
    newIncompleteTasks: open
      .filter((t) => t.createdAt > period.start && t.createdAt <= period.end)
      .map(shape)
      .sort(byCreated),
    completedTasks: completed
      .filter(
        (t) => t.completedAt !== undefined && t.completedAt > period.start && t.completedAt <= period.end,
      )
      .map(shape)
      .sort((a, b) => (a.completedAt ?? '').localeCompare(b.completedAt ?? '') || a.id.localeCompare(b.id)),
    oldIncompleteTasks: open
      .filter((t) => t.createdAt <= period.start)
      .map(shape)
      .sort(byCreated),
  };
}

export const isEmpty = (doc: ReportDocument) =>
  doc.newIncompleteTasks.length + doc.completedTasks.length + doc.oldIncompleteTasks.length === 0;

export interface PlanDeps {
  queue: ReportQueue;
  intervalMinutes: number;
  now?: Date;
  /** Which schedule's windows to plan (one cursor per schedule); default the `task-reports` schedule. */
  schedule?: string;
  /** A window left in `planning` longer than this is fanned out again (the planner died mid-way). */
  staleAfterMs?: number;
}

export interface PlanOutcome {
  /** The window this run claimed, if any (none when another run got it first). */
  window?: Period;
  users: number;
  /** A previous window whose fan-out had not finished and was sent again. */
  resumed?: Period;
}

/**
 * Users who may have something to report in (start, end]: anyone with open tasks or any change since
 * `start`. One Query per shard of the users index; the worker decides exactly, so a superset is fine.
 */
export async function candidateUsers(start: string): Promise<string[]> {
  const users = tasksDb().entities.taskUser;
  const shards = Array.from({ length: USER_SHARDS }, (_, i) => String(i));
  const lists = await Promise.all(
    shards.map((shard) =>
      all((cursor) =>
        users.query
          .byShard({ shard })
          .where((a, op) => `${op.gt(a.openTasks, 0)} OR ${op.gt(a.touchedAt, start)}`)
          .go({ cursor, pages: 1, attributes: ['userId'] }),
      ),
    ),
  );
  return lists.flat().map((u) => u.userId);
}

async function fanOut(queue: ReportQueue, window: Period): Promise<number> {
  const users = await candidateUsers(window.start);
  const jobs: ReportJob[] = users.map((userId) => ({ userId, start: window.start, end: window.end }));
  await queue.enqueue(jobs);
  return jobs.length;
}

/**
 * The scheduled planner: claims the window (end of the previous run, now] — the first run covers one
 * interval — with a conditional write on the previous end, so concurrent runs cannot claim the same
 * window, records the run, and enqueues one message per candidate user.
 */
export async function planReports(deps: PlanDeps): Promise<PlanOutcome> {
  const db = tasksDb();
  const now = deps.now ?? new Date();
  const end = now.toISOString();
  const staleAfter = deps.staleAfterMs ?? 15 * 60_000;
  const schedule = deps.schedule ?? REPORT_SCHEDULE;
  const { data: cursor } = await db.entities.reportCursor.get({ schedule }).go({ consistent: true });
  const outcome: PlanOutcome = { users: 0 };

  if (cursor && cursor.status === 'planning' && now.getTime() - Date.parse(cursor.claimedAt) > staleAfter) {
    const window = { start: cursor.start, end: cursor.end };
    const users = await fanOut(deps.queue, window);
    await markEnqueued(schedule, window, users);
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
      reportRun.create({ schedule, ...window, claimedAt: end }).commit(),
    ])
    .go();
  // A condition failure means another run claimed a window from the same previous end first.
  if (transactionCodes(claim)) return outcome;
  outcome.window = window;
  outcome.users = await fanOut(deps.queue, window);
  await markEnqueued(schedule, window, outcome.users);
  return outcome;
}

async function markEnqueued(schedule: string, window: Period, users: number) {
  const db = tasksDb();
  const at = new Date().toISOString();
  await db.entities.reportRun.patch({ schedule, start: window.start }).set({ users, enqueuedAt: at }).go();
  await db.entities.reportCursor
    .patch({ schedule })
    .set({ status: 'enqueued', users })
    .where((a, op) => op.eq(a.end, window.end))
    .go()
    .catch((error: unknown) => {
      // A newer window was claimed meanwhile: the cursor is no longer ours to mark.
      if (!isConditionFailure(error)) throw error;
    });
}

/** A queue message body as a job, or undefined when it is not one (it can never succeed). */
export function parseReportJob(body: string): ReportJob | undefined {
  try {
    const parsed = v.safeParse(ReportJobMessage, JSON.parse(body));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

export interface GenerateDeps {
  store: ReportStore;
  now?: () => number;
  leaseMs?: number;
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
  const reports = tasksDb().entities.report;
  const period = { start: job.start, end: job.end };
  const reportId = reportIdFor(job.userId, period);
  const { data: existing } = await reports.get({ reportId }).go({ consistent: true });
  if (existing?.status === 'stored') return 'exists';

  const document = await buildReport(job.userId, period);
  if (isEmpty(document) && !existing) return 'empty';

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

  await deps.store.put(objectKey, document);
  await reports
    .patch({ reportId })
    .set({
      status: 'stored',
      storedAt: new Date(now()).toISOString(),
      newIncomplete: document.newIncompleteTasks.length,
      completed: document.completedTasks.length,
      oldIncomplete: document.oldIncompleteTasks.length,
    })
    .remove(['leaseId', 'leaseUntil'])
    .where((a, op) => op.eq(a.leaseId, leaseId))
    .go();
  return 'stored';
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

/**
 * Stored report summaries, newest window first, for one user or for everyone. The cursor is our own
 * position, not DynamoDB's key, so a forged one is a 400 and one from the other list still works.
 */
export async function listReports(query: {
  userId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<ReportSummary>> {
  const before = positionOf(query.cursor);
  const reports = tasksDb().entities.report;
  const take = query.limit + 1;
  const stored = { order: 'desc', limit: take, count: take } as const;
  const isStored = (a: { status: unknown }, op: { eq: (a: unknown, v: unknown) => string }) =>
    op.eq(a.status, 'stored');
  let data: ReportItem[];
  if (query.userId) {
    const base = reports.query.byUser({ userId: query.userId });
    data = (await (before ? base.lt(before) : base).where(isStored).go(stored)).data;
  } else {
    const base = reports.query.byTime({ everyone: 'all' });
    data = (await (before ? base.lt(before) : base).where(isStored).go(stored)).data;
  }
  const items = data.slice(0, query.limit);
  const last = items.at(-1);
  return {
    data: items.map(summaryOf),
    next_cursor:
      data.length > query.limit && last ? encodeCursor(`${last.periodEnd}|${last.reportId}`) : null,
  };
}

/** The full stored document of one report. */
export async function getReport(reportId: string, store: ReportStore): Promise<ReportDocument> {
  const { data } = await tasksDb().entities.report.get({ reportId }).go();
  if (data?.status !== 'stored') throw new NotFound('Report not found.');
  const document = await store.get(data.objectKey);
  if (!document) throw new NotFound('Report not found.');
  return document;
}
