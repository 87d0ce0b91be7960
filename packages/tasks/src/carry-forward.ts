import { isConditionFailure, readAllKeys } from '@svc/platform';
import type { EntityItem } from 'electrodb';
import { type TaskEntity, tasksDb } from './entities.js';
import { assembleReport, reportTask } from './report-document.js';
import type { Period, ReportDocument, ReportTask } from './schemas.js';

/**
 * Carry-forward (issue 17: a report's read cost grows with what changed, not with the user's history).
 *
 * A user's stored report R (window ending at e, reads begun at server time B = `builtFrom`) holds every task
 * that was open at B and created at or before e. The user's next report (start ≥ e) starts from R's two open
 * lists and re-reads only what can differ:
 * - the tasks written since B (the user's change records after B − CHANGE_GRACE_MS), fetched by key: their
 *   current state replaces what R said (a task completed, deleted, re-opened, renamed);
 * - the open tasks created after e (the open index from e on: the window's new tasks, plus any created
 *   between e and the window's start that R left out);
 * - the window's completions (the completions index between start and end), exactly as a full read.
 * Every other task was last written before B, so R saw it as it is now. The result is the document a full
 * read (`buildReport`) makes at the same moment: test/tasks/carry-forward.test.ts compares both on a mixed
 * history of out-of-order, repeated and concurrent events.
 *
 * The grace covers a webhook that stamped its change record before B but committed its write after the
 * base's reads (a webhook invocation lasts far less than the grace) and index propagation.
 */
export const CHANGE_GRACE_MS = 5 * 60_000;
/** Change records are kept this long; a base older than that (less a day) is not used. */
export const CHANGE_RETENTION_DAYS = 15;
/** How long a container trusts that the carry-forward switch is still off before reading it again. */
const SWITCH_RECHECK_MS = 5 * 60_000;

type TaskItem = EntityItem<typeof TaskEntity>;

/**
 * Records that the user's task `taskId` is being written now (server time). An idempotent put of a small
 * item under the user's own partition: concurrent events never conflict on it.
 */
export async function recordChange(userId: string, taskId: string, at = new Date()) {
  await tasksDb()
    .entities.taskChange.put({
      userId,
      taskId,
      changedAt: at.toISOString(),
      expiresAt: Math.floor(at.getTime() / 1000) + CHANGE_RETENTION_DAYS * 86_400,
    })
    .go({ response: 'none' });
}

let since: { value: string | undefined; readAt: number } | undefined;

/** Since when every webhook writes change records (undefined until the migration turned it on). */
export async function carryForwardSince(): Promise<string | undefined> {
  if (since?.value !== undefined) return since.value;
  if (since && Date.now() - since.readAt < SWITCH_RECHECK_MS) return undefined;
  const { data } = await tasksDb().entities.carryForward.get({ name: 'reports' }).go({ consistent: true });
  since = { value: data?.since, readAt: Date.now() };
  return since.value;
}

/**
 * Turns carry-forward on from now (idempotent: an earlier switch stays). Run once the code that writes
 * change records serves every webhook (migrate-tasks.ts; the local runtime and tests on a fresh table).
 */
export async function enableCarryForward(now = new Date()): Promise<string> {
  const value = now.toISOString();
  await tasksDb()
    .entities.carryForward.create({ name: 'reports', since: value })
    .go({ response: 'none' })
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  const { data } = await tasksDb().entities.carryForward.get({ name: 'reports' }).go({ consistent: true });
  since = { value: data?.since ?? value, readAt: Date.now() };
  return since.value ?? value;
}

/** Tests: forget the cached switch. */
export function resetCarryForwardCache() {
  since = undefined;
}

/** A stored report a later one can start from. */
export interface ReportBase {
  periodEnd: string;
  builtFrom: string;
  document: ReportDocument;
}

const isOpen = (t: TaskItem) => !t.isCompleted && !t.deletedAt;

async function allPages<T>(page: (cursor: string | null) => Promise<{ data: T[]; cursor: string | null }>) {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const result = await page(cursor);
    out.push(...result.data);
    cursor = result.cursor;
  } while (cursor);
  return out;
}

/** Current state of the tasks `ids`, by key (BatchGetItem, 100 per request; unprocessed keys retried). */
async function tasksByKey(ids: readonly string[]): Promise<TaskItem[]> {
  const task = tasksDb().entities.task;
  const out: TaskItem[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    // A report is no request: up to 8 rounds (about 6 s of backoff) before the job is retried by SQS.
    const chunk = await readAllKeys(
      ids.slice(i, i + 100).map((taskId) => ({ taskId })),
      async (keys) => {
        const result = await task.get(keys).go({ preserveBatchOrder: false });
        return { items: result.data as TaskItem[], unprocessed: result.unprocessed as { taskId: string }[] };
      },
      8,
    );
    out.push(...chunk);
  }
  return out;
}

/** What a carried-forward report read (the bench and the README state it per user). */
export interface CarryForwardReads {
  changed: number;
  createdSince: number;
  completed: number;
}

/** The SPEC §2 document of `period` for `userId`, from `base` plus what changed since it (see above). */
export async function carryForward(
  userId: string,
  period: Period,
  base: ReportBase,
  graceMs = CHANGE_GRACE_MS,
): Promise<{ document: ReportDocument; reads: CarryForwardReads }> {
  const { task, taskChange } = tasksDb().entities;
  const changesAfter = new Date(Date.parse(base.builtFrom) - graceMs).toISOString();
  const [changes, createdSince, completed] = await Promise.all([
    allPages((cursor) =>
      taskChange.query
        .byUser({ userId })
        .gt({ changedAt: changesAfter })
        .go({ cursor, pages: 1, attributes: ['taskId'] }),
    ),
    allPages((cursor) =>
      task.query.openByUser({ userId }).gt({ createdAt: base.periodEnd }).go({ cursor, pages: 1 }),
    ),
    allPages((cursor) =>
      task.query
        .completedByUser({ userId })
        .between({ completionKey: period.start }, { completionKey: period.end })
        .go({ cursor, pages: 1 }),
    ),
  ]);
  const changedIds = [...new Set(changes.map((c) => c.taskId))];
  const current = await tasksByKey(changedIds);

  // Every task open now and created by the window's end, by id.
  const open = new Map<string, ReportTask>();
  for (const t of [...base.document.oldIncompleteTasks, ...base.document.newIncompleteTasks])
    open.set(t.id, t);
  const changed = new Set(changedIds);
  for (const id of changedIds) open.delete(id);
  for (const t of current) if (t.userId === userId && isOpen(t)) open.set(t.taskId, reportTask(t));
  for (const t of createdSince) if (!changed.has(t.taskId) && isOpen(t)) open.set(t.taskId, reportTask(t));

  const document = assembleReport(userId, period, [...open.values()], completed);
  return {
    document,
    reads: { changed: changedIds.length, createdSince: createdSince.length, completed: completed.length },
  };
}
