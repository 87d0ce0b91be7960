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

/**
 * Legacy (before issue 17): per-user activity counter on 8 gsi3 partitions, rewritten in every webhook
 * transaction. Nothing writes it any more; it is kept only so the backfill (`migrate.ts`) can read the
 * users who still had open tasks when the layout changed.
 */
export const LEGACY_USER_SHARDS = 8;
export const TaskUserEntity = new Entity({
  model: { service: 'tasks', entity: 'taskUser', version: '1' },
  attributes: {
    userId: { type: 'string', required: true },
    shard: { type: 'string', required: true },
    openTasks: { type: 'number' },
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
 * Report candidates are spread over this many partitions (by a hash of the user id), in the base table:
 * one planner shard job per shard. 10,000 webhook calls/s from many users land ~310 writes/s on each
 * activity partition of the current bucket (limit 1,000 WCU); changing the number needs a backfill.
 */
export const CANDIDATE_SHARDS = 32;
/** Activity markers are bucketed by server time; a planner reads the buckets its window overlaps. */
export const ACTIVITY_BUCKET_MS = 15 * 60_000;

/**
 * "This user changed something in this bucket": one item per (bucket, shard, user), a plain put before
 * the task's own write (never in its transaction, so one user's bulk import does not fight over it).
 * Expires a few days after its bucket.
 */
export const ActivityEntity = new Entity({
  model: { service: 'tasks', entity: 'activity', version: '1' },
  attributes: {
    activityBucket: { type: 'string', required: true },
    activityShard: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    expiresAt: { type: 'number', required: true },
  },
  indexes: {
    byBucket: {
      pk: { field: 'pk', composite: ['activityBucket', 'activityShard'], casing: 'none' },
      sk: { field: 'sk', composite: ['userId'], casing: 'none' },
    },
  },
});

/**
 * "This user may have open tasks": one item per user in one of the shard partitions. Put by the webhook
 * when a task is left open and by each report that finds open tasks, deleted by a report that finds
 * none. `asOf` orders those writes: a report of an older window never removes a newer entry.
 */
export const OpenUserEntity = new Entity({
  model: { service: 'tasks', entity: 'openUser', version: '1' },
  attributes: {
    openShard: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    asOf: { type: 'string', required: true },
  },
  indexes: {
    byShard: {
      pk: { field: 'pk', composite: ['openShard'], casing: 'none' },
      sk: { field: 'sk', composite: ['userId'], casing: 'none' },
    },
  },
});

/**
 * "This task of this user was written at (about) this server time": one small item per webhook delivery,
 * in the user's own partition, sorted by time, put beside the task's first read (so it exists before the
 * write can), never in the transaction. A report reads the records after its base's `builtFrom` to know
 * which tasks to re-read; a record for a write that then did not happen only costs a re-read.
 * Per-user partition: one user's bulk import writes up to one record per event there (SPEC §8 per-user
 * bound, README). Expires after CHANGE_RETENTION_DAYS; an older base is not used.
 */
export const TaskChangeEntity = new Entity({
  model: { service: 'tasks', entity: 'taskChange', version: '1' },
  attributes: {
    userId: { type: 'string', required: true },
    changedAt: { type: 'string', required: true },
    taskId: { type: 'string', required: true },
    expiresAt: { type: 'number', required: true },
  },
  indexes: {
    byUser: {
      pk: { field: 'pk', composite: ['userId'], casing: 'none' },
      sk: { field: 'sk', composite: ['changedAt', 'taskId'], casing: 'none' },
    },
  },
});

/**
 * One item: since when every webhook writes change records (set by the migration, `migrate.ts`, once the
 * code that writes them serves every request). Reports carry a base forward only if it was built after.
 */
export const CarryForwardEntity = new Entity({
  model: { service: 'tasks', entity: 'carryForward', version: '1' },
  attributes: {
    name: { type: 'string', required: true, default: 'reports' },
    since: { type: 'string', required: true },
  },
  indexes: {
    byName: {
      pk: { field: 'pk', composite: ['name'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
  },
});

/** Shards of the global report list (index gsi2), merged on read. */
export const REPORT_LIST_SHARDS = 16;

/**
 * The index entry of one stored report. Its id is derived from (user, window), and it is created
 * conditionally, so a retried or re-run window can never index a second report for the same user.
 * Both lists are sparse: only `stored` reports are in them. `expiresAt` (TTL) ends it with the S3 object.
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
    /** Size of the stored JSON document: above the inline limit it is served by a presigned URL. */
    bytes: { type: 'number' },
    newIncomplete: { type: 'number' },
    completed: { type: 'number' },
    oldIncomplete: { type: 'number' },
    storedAt: { type: 'string' },
    /** Which partition of the global list (gsi2) holds it: a hash of the report id. */
    listShard: { type: 'string', required: true },
    expiresAt: { type: 'number' },
    /**
     * Server time just before the report's reads began: the next report of the user carries this one's
     * open tasks forward and re-reads only the tasks changed since (change records after it, less a grace).
     * Absent on reports built before carry-forward: those are never used as a base.
     */
    builtFrom: { type: 'string' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['reportId'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
    byUser: {
      index: 'gsi1',
      condition: (r) => r.status === 'stored',
      pk: { field: 'gsi1pk', composite: ['userId'], casing: 'none' },
      sk: { field: 'gsi1sk', composite: ['periodEnd', 'reportId'], casing: 'none' },
    },
    byTime: {
      index: 'gsi2',
      condition: (r) => r.status === 'stored',
      pk: { field: 'gsi2pk', composite: ['listShard'], casing: 'none' },
      sk: { field: 'gsi2sk', composite: ['periodEnd', 'reportId'], casing: 'none' },
    },
  },
});

/**
 * The report schedule's cursor (one item): the last claimed window. Claiming a window is a
 * conditional write on the previous end, so two concurrent planner runs cannot both claim it.
 * `planning` until the window's shard jobs are on the queue; the next run finishes that first.
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
    /** Shard jobs enqueued for the window. */
    shards: { type: 'number' },
    users: { type: 'number' },
    enqueuedAt: { type: 'string' },
    expiresAt: { type: 'number' },
  },
  indexes: {
    byStart: {
      pk: { field: 'pk', composite: ['schedule'], casing: 'none' },
      sk: { field: 'sk', composite: ['start'], casing: 'none' },
    },
  },
});

/**
 * The checkpoint of one shard job of one window: the last user id enqueued (candidates are read in
 * user id order, so resuming is "after this id"), a lease so two deliveries never run it at once,
 * and `done`. A timed-out or crashed job's redelivery continues from `after`.
 */
export const ReportShardEntity = new Entity({
  model: { service: 'tasks', entity: 'reportShard', version: '1' },
  attributes: {
    schedule: { type: 'string', required: true },
    start: { type: 'string', required: true },
    shard: { type: 'string', required: true },
    end: { type: 'string', required: true },
    status: { type: ['running', 'done'] as const, required: true },
    after: { type: 'string' },
    users: { type: 'number', required: true },
    leaseId: { type: 'string' },
    leaseUntil: { type: 'number' },
    updatedAt: { type: 'string', required: true },
    expiresAt: { type: 'number' },
  },
  indexes: {
    byWindow: {
      pk: { field: 'pk', composite: ['schedule', 'start'], casing: 'none' },
      sk: { field: 'sk', composite: ['shard'], casing: 'none' },
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
      activity: ActivityEntity,
      openUser: OpenUserEntity,
      taskChange: TaskChangeEntity,
      carryForward: CarryForwardEntity,
      reportShard: ReportShardEntity,
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
