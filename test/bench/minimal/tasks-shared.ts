// Shared by the tasks twins: the keys of the real ElectroDB items of packages/tasks/src/entities.ts
// (service `tasks`, `casing: 'none'`), the S3 client as packages/tasks/src/ports.ts builds it, and the
// on-demand report of packages/tasks/src/reports.ts (two Queries on the user's sparse task indexes).
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';

/** ElectroDB's key of `entity` v1 in service `tasks`: pk `$tasks#<attr>_<value>`, sk `$<entity>_1…`. */
export const keys = {
  task: (taskId: string) => ({ pk: `$tasks#taskId_${taskId}`, sk: '$task_1' }),
  taskUser: (userId: string) => ({ pk: `$tasks#userId_${userId}`, sk: '$taskUser_1' }),
  report: (reportId: string) => ({ pk: `$tasks#reportId_${reportId}`, sk: '$report_1' }),
  cursor: (schedule: string) => ({ pk: `$tasks#schedule_${schedule}`, sk: '$reportCursor_1' }),
  run: (schedule: string, start: string) => ({
    pk: `$tasks#schedule_${schedule}`,
    sk: `$reportRun_1#start_${start}`,
  }),
};

/** ElectroDB's entity markers on every item it writes. */
export const marks = (entity: string) => ({ __edb_e__: entity, __edb_v__: '1' });

/** Report candidates (activity markers, the open set) are spread over this many shards (CANDIDATE_SHARDS). */
export const CANDIDATE_SHARDS = 32;

/** candidates.ts shardOf: a user's candidate shard. */
export const candidateShardOf = (userId: string): string =>
  String(createHash('sha256').update(userId).digest().readUInt32BE(0) % CANDIDATE_SHARDS);

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** An ISO 8601 instant with a zone, normalised to UTC milliseconds (schemas.ts `instant`), or undefined. */
export function instant(value: unknown): string | undefined {
  if (typeof value !== 'string' || !INSTANT.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export const EXTERNAL_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

let s3: S3Client | undefined;

/** One S3 client per container; path-style only against a local endpoint override (ports.ts). */
export function s3Client(): S3Client {
  s3 ??= new S3Client({
    maxAttempts: 3,
    ...(process.env.AWS_ENDPOINT_URL_S3 ? { forcePathStyle: true } : {}),
  });
  return s3;
}

export const BUCKET = process.env.REPORTS_BUCKET ?? '';

/** Every page of a Query (the real code's `all(... go({ cursor, pages: 1 }))`). */
export async function queryAll(input: Omit<QueryCommandInput, 'TableName'>) {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ TableName: TABLE, ...input, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export interface ReportTask {
  id: string;
  content: string;
  createdAt: string;
  completedAt: string | null;
}

export interface ReportDocument {
  userId: string;
  period: { start: string; end: string };
  newIncompleteTasks: ReportTask[];
  completedTasks: ReportTask[];
  oldIncompleteTasks: ReportTask[];
}

type TaskItem = { taskId: string; content: string; createdAt: string; completedAt?: string };

const shape = (t: TaskItem): ReportTask => ({
  id: t.taskId,
  content: t.content,
  createdAt: t.createdAt,
  completedAt: t.completedAt ?? null,
});
const byCreated = (a: ReportTask, b: ReportTask) =>
  a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/** The SPEC §2 document for (start, end]: open tasks (gsi1) and completions in the window (gsi2). */
export async function buildReport(userId: string, start: string, end: string): Promise<ReportDocument> {
  const [open, completed] = (await Promise.all([
    queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :sk)',
      ExpressionAttributeValues: { ':pk': `$tasks#userId_${userId}`, ':sk': '$task_1#createdAt_' },
    }),
    queryAll({
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': `$tasks#userId_${userId}`,
        ':from': `$task_1#completionKey_${start}`,
        ':to': `$task_1#completionKey_${end}`,
      },
    }),
  ])) as unknown as [TaskItem[], TaskItem[]];
  return {
    userId,
    period: { start, end },
    newIncompleteTasks: open
      .filter((t) => t.createdAt > start && t.createdAt <= end)
      .map(shape)
      .sort(byCreated),
    completedTasks: completed
      .filter((t) => t.completedAt !== undefined && t.completedAt > start && t.completedAt <= end)
      .map(shape)
      .sort((a, b) => (a.completedAt ?? '').localeCompare(b.completedAt ?? '') || a.id.localeCompare(b.id)),
    oldIncompleteTasks: open
      .filter((t) => t.createdAt <= start)
      .map(shape)
      .sort(byCreated),
  };
}
