// TasksPlanReports, the minimal way (reports.ts planReports after issue 16: constant work whatever the
// population): read the schedule's cursor (GetItem); a window left `planning` by a crashed run has its shard
// jobs enqueued again first; claim the next window with one TransactWriteItems (the cursor conditional on
// the previous end + the run record, which expires with the reports); one shard job per candidate shard (32)
// on the report queue, SendMessageBatch in tens, five at once; then mark the run and the cursor enqueued
// (two UpdateItems). 1 + 1 + 2 = 4 DynamoDB calls and 4 SQS batches, as the real planner makes.
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';
import { keys, marks } from './tasks-shared.js';

const SCHEDULE = 'task-reports';
const QUEUE_URL = process.env.QUEUE_URL_TASK_REPORTS ?? '';
const INTERVAL_MINUTES = Number(process.env.REPORT_INTERVAL_MINUTES || 60);
const RETENTION_DAYS = Number(process.env.REPORT_RETENTION_DAYS || 90);
/** Candidate shards (entities.ts CANDIDATE_SHARDS): one shard job each per window. */
const CANDIDATE_SHARDS = 32;
const PLANNER_TIMEOUT_SECONDS = 60;
const sqs = new SQSClient({ maxAttempts: 3 });

type Window = { start: string; end: string };

/** The window's shard jobs, in batches of ten, five batches in flight (ports.ts sqsReportQueue). */
async function enqueueShards(window: Window): Promise<number> {
  const jobs = Array.from({ length: CANDIDATE_SHARDS }, (_, i) => ({
    kind: 'shard',
    schedule: SCHEDULE,
    shard: String(i),
    ...window,
  }));
  const batches: (typeof jobs)[] = [];
  for (let i = 0; i < jobs.length; i += 10) batches.push(jobs.slice(i, i + 10));
  const send = async (batch: typeof jobs) => {
    let pending = batch.map((job, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((e) => failed.has(e.Id));
      if (pending.length > 0 && attempt >= 3)
        throw new Error(`SQS refused ${pending.length} report messages`);
    }
  };
  for (let i = 0; i < batches.length; i += 5) await Promise.all(batches.slice(i, i + 5).map(send));
  return jobs.length;
}

async function markEnqueued(window: Window, shards: number) {
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.run(SCHEDULE, window.start),
      UpdateExpression:
        'SET #shards = :shards, enqueuedAt = :at, #schedule = :schedule, #start = :start, #e = :e, #v = :v',
      ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk)',
      ExpressionAttributeNames: {
        '#shards': 'shards',
        '#schedule': 'schedule',
        '#start': 'start',
        '#e': '__edb_e__',
        '#v': '__edb_v__',
      },
      ExpressionAttributeValues: {
        ':shards': shards,
        ':at': new Date().toISOString(),
        ':schedule': SCHEDULE,
        ':start': window.start,
        ':e': 'reportRun',
        ':v': '1',
      },
    }),
  );
  try {
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: keys.cursor(SCHEDULE),
        UpdateExpression: 'SET #status = :enqueued, #schedule = :schedule, #e = :e, #v = :v',
        ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk) AND #end = :end',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#schedule': 'schedule',
          '#end': 'end',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: {
          ':enqueued': 'enqueued',
          ':schedule': SCHEDULE,
          ':end': window.end,
          ':e': 'reportCursor',
          ':v': '1',
        },
      }),
    );
  } catch (error) {
    // A newer window was claimed meanwhile: the cursor is no longer ours to mark.
    if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
  }
}

export const handler = async () => {
  const now = new Date();
  const end = now.toISOString();
  const { Item: cursor } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: keys.cursor(SCHEDULE), ConsistentRead: true }),
  );
  const outcome: { shards: number; resumed?: Window; window?: Window } = { shards: 0 };
  if (cursor?.status === 'planning') {
    // Still within its claimer's timeout: that run is still enqueueing.
    if (now.getTime() - Date.parse(String(cursor.claimedAt)) < PLANNER_TIMEOUT_SECONDS * 1000) return outcome;
    const stale = { start: String(cursor.start), end: String(cursor.end) };
    await markEnqueued(stale, await enqueueShards(stale));
    outcome.resumed = stale;
  }
  const start: string = cursor?.end ?? new Date(now.getTime() - INTERVAL_MINUTES * 60_000).toISOString();
  if (start >= end) return outcome;
  const window = { start, end };
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE,
              Item: {
                schedule: SCHEDULE,
                ...window,
                status: 'planning',
                claimedAt: end,
                ...keys.cursor(SCHEDULE),
                ...marks('reportCursor'),
              },
              ConditionExpression: cursor ? '#end = :previous' : 'attribute_not_exists(#end)',
              ExpressionAttributeNames: { '#end': 'end' },
              ...(cursor ? { ExpressionAttributeValues: { ':previous': cursor.end } } : {}),
            },
          },
          {
            Put: {
              TableName: TABLE,
              Item: {
                schedule: SCHEDULE,
                ...window,
                claimedAt: end,
                expiresAt: Math.floor(now.getTime() / 1000) + RETENTION_DAYS * 86_400,
                ...keys.run(SCHEDULE, start),
                ...marks('reportRun'),
              },
              ConditionExpression: 'attribute_not_exists(pk) AND attribute_not_exists(sk)',
            },
          },
        ],
      }),
    );
  } catch (error) {
    // Another run claimed a window from the same previous end first.
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    if (reasons.length > 0 && !reasons.some((r) => r.Code === 'TransactionConflict')) return outcome;
    throw error;
  }
  outcome.window = window;
  outcome.shards = await enqueueShards(window);
  await markEnqueued(window, outcome.shards);
  return outcome;
};
