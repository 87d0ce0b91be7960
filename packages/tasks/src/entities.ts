import { dynamo } from '@svc/platform';
import { Entity, Service } from 'electrodb';
import { TaskEventEntity } from './audit-entity.js';

// Ids from the todo app are case-sensitive, so no key is lower-cased (`casing: 'none'`).

/**
 * One task, keyed by its id. The item is always written whole (`put`), so the two sparse indexes
 * follow its state: open tasks per user by creation time, completed tasks per user by completion time.
 * Deleted tasks leave both, which is how reports leave them out without filtering.
 */
export const TaskEntity = new Entity({
  model: { service: 'tasks', entity: 'task', version: '1' },
  attributes: {
    taskId: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    content: { type: 'string', required: true },
    isCompleted: { type: 'boolean', required: true },
    createdAt: { type: 'string', required: true },
    completedAt: { type: 'string' },
    deletedAt: { type: 'string' },
    /** Timestamp of the newest event applied; older events change nothing. */
    lastEventAt: { type: 'string', required: true },
    /**
     * completedAt when completed (else createdAt): the completions index's sort key. ElectroDB wants
     * every composite of a conditional index on every write, and completedAt is absent on open tasks.
     */
    completionKey: { type: 'string', required: true },
    /** Digest of the `created` payload, so a redelivery (202) is told from a different task (409). */
    createdDigest: { type: 'string', required: true },
    /**
     * open | completed | deleted, derived on every write from isCompleted and deletedAt (never set by
     * hand): the key of the per-user list index below, so each status is one exact Query.
     */
    state: {
      type: ['open', 'completed', 'deleted'] as const,
      watch: ['isCompleted', 'deletedAt'],
      set: (_: unknown, t: { isCompleted?: boolean; deletedAt?: string }) =>
        t.deletedAt ? 'deleted' : t.isCompleted ? 'completed' : 'open',
    },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['taskId'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
    openByUser: {
      index: 'gsi1',
      condition: (t) => t.isCompleted === false && !t.deletedAt,
      pk: { field: 'gsi1pk', composite: ['userId'], casing: 'none' },
      sk: { field: 'gsi1sk', composite: ['createdAt', 'taskId'], casing: 'none' },
    },
    completedByUser: {
      index: 'gsi2',
      condition: (t) => t.isCompleted === true && !t.deletedAt && typeof t.completedAt === 'string',
      pk: { field: 'gsi2pk', composite: ['userId'], casing: 'none' },
      // The completion time alone so `between` on it is exact at both ends (ties are fine in a GSI).
      sk: { field: 'gsi2sk', composite: ['completionKey'], casing: 'none' },
    },
    /**
     * GET /users/{userId}/tasks: one partition per (user, state), newest createdAt first. gsi3 is shared
     * with taskUser's shard index; the composite names differ, so the key values never collide.
     */
    byUserState: {
      index: 'gsi3',
      pk: { field: 'gsi3pk', composite: ['userId', 'state'], casing: 'none' },
      sk: { field: 'gsi3sk', composite: ['createdAt', 'taskId'], casing: 'none' },
    },
  },
});

/** Users are spread over this many partitions of the "users with tasks" index. */
export const USER_SHARDS = 8;

/**
 * Per-user activity, updated in the same transaction as every task write: how many open tasks the
 * user has and when the user last changed anything. The planner reads it (a Query per shard, never
 * a Scan) to find the users with something to report.
 */
export const TaskUserEntity = new Entity({
  model: { service: 'tasks', entity: 'taskUser', version: '1' },
  attributes: {
    userId: { type: 'string', required: true },
    shard: { type: 'string', required: true },
    openTasks: { type: 'number' },
    /** Server time of the user's last applied event (the planner's cheap "anything new?" test). */
    touchedAt: { type: 'string' },
  },
  indexes: {
    byUser: {
      pk: { field: 'pk', composite: ['userId'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
    byShard: {
      index: 'gsi3',
      pk: { field: 'gsi3pk', composite: ['shard'], casing: 'none' },
      sk: { field: 'gsi3sk', composite: ['userId'], casing: 'none' },
    },
  },
});

/**
 * The index entry of one stored report. Its id is derived from (user, window), and it is created
 * conditionally, so a retried or re-run window can never index a second report for the same user.
 */
export const ReportEntity = new Entity({
  model: { service: 'tasks', entity: 'report', version: '1' },
  attributes: {
    reportId: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    periodStart: { type: 'string', required: true },
    periodEnd: { type: 'string', required: true },
    /** `pending` while a worker holds the lease and writes S3; `stored` once the object exists. */
    status: { type: ['pending', 'stored'] as const, required: true },
    leaseId: { type: 'string' },
    leaseUntil: { type: 'number' },
    objectKey: { type: 'string', required: true },
    newIncomplete: { type: 'number' },
    completed: { type: 'number' },
    oldIncomplete: { type: 'number' },
    storedAt: { type: 'string' },
    /** A constant: every report in one partition of gsi2 so the unfiltered list is newest first. */
    everyone: { type: 'string', required: true, default: 'all' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['reportId'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
    byUser: {
      index: 'gsi1',
      pk: { field: 'gsi1pk', composite: ['userId'], casing: 'none' },
      sk: { field: 'gsi1sk', composite: ['periodEnd', 'reportId'], casing: 'none' },
    },
    byTime: {
      index: 'gsi2',
      pk: { field: 'gsi2pk', composite: ['everyone'], casing: 'none' },
      sk: { field: 'gsi2sk', composite: ['periodEnd', 'reportId'], casing: 'none' },
    },
  },
});

/**
 * The report schedule's cursor (one item): the last claimed window. Claiming a window is a
 * conditional write on the previous end, so two concurrent planner runs cannot both claim it.
 */
export const ReportCursorEntity = new Entity({
  model: { service: 'tasks', entity: 'reportCursor', version: '1' },
  attributes: {
    schedule: { type: 'string', required: true },
    start: { type: 'string', required: true },
    end: { type: 'string', required: true },
    status: { type: ['planning', 'enqueued'] as const, required: true },
    claimedAt: { type: 'string', required: true },
    users: { type: 'number' },
  },
  indexes: {
    bySchedule: {
      pk: { field: 'pk', composite: ['schedule'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
  },
});

/** One record per planned window (history for operators; keyed by start, which windows never share). */
export const ReportRunEntity = new Entity({
  model: { service: 'tasks', entity: 'reportRun', version: '1' },
  attributes: {
    schedule: { type: 'string', required: true },
    start: { type: 'string', required: true },
    end: { type: 'string', required: true },
    claimedAt: { type: 'string', required: true },
    users: { type: 'number' },
    enqueuedAt: { type: 'string' },
  },
  indexes: {
    byStart: {
      pk: { field: 'pk', composite: ['schedule'], casing: 'none' },
      sk: { field: 'sk', composite: ['start'], casing: 'none' },
    },
  },
});

let service: ReturnType<typeof createService> | undefined;

function createService() {
  const { client, table } = dynamo();
  return new Service(
    {
      task: TaskEntity,
      taskEvent: TaskEventEntity,
      taskUser: TaskUserEntity,
      report: ReportEntity,
      reportCursor: ReportCursorEntity,
      reportRun: ReportRunEntity,
    },
    { client, table },
  );
}

/** The tasks ElectroDB service, bound to the shared client on first use (once per container). */
export function tasksDb() {
  service ??= createService();
  return service;
}
