// TasksPlanReports, the minimal way: read the schedule's cursor (GetItem), claim the next window with one
// TransactWriteItems (the cursor conditional on the previous end + the run record), one Query per user
// shard of gsi3 for the candidate users, SendMessageBatch in tens, then mark the run and the cursor
// enqueued (two UpdateItems). 1 + 1 + 8 + 2 = 12 DynamoDB calls, the same as the real planner.
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';
import { keys, marks, queryAll, USER_SHARDS } from './tasks-shared.js';

const SCHEDULE = 'task-reports';
const QUEUE_URL = process.env.QUEUE_URL_TASK_REPORTS ?? '';
const INTERVAL_MINUTES = Number(process.env.REPORT_INTERVAL_MINUTES || 60);
const STALE_AFTER_MS = 15 * 60_000;
const sqs = new SQSClient({ maxAttempts: 3 });

type Window = { start: string; end: string };

async function candidateUsers(start: string): Promise<string[]> {
  const lists = await Promise.all(
    Array.from({ length: USER_SHARDS }, (_, shard) =>
      queryAll({
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :pk AND begins_with(gsi3sk, :sk)',
        FilterExpression: 'openTasks > :zero OR touchedAt > :start',
        ProjectionExpression: 'userId',
        ExpressionAttributeValues: {
          ':pk': `$tasks#shard_${shard}`,
          ':sk': '$taskUser_1#userId_',
          ':zero': 0,
          ':start': start,
        },
      }),
    ),
  );
  return lists.flat().map((u) => String(u.userId));
}

async function enqueue(userIds: string[], window: Window) {
  const batches: string[][] = [];
  for (let i = 0; i < userIds.length; i += 10) batches.push(userIds.slice(i, i + 10));
  const send = async (batch: string[]) => {
    let pending = batch.map((userId, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify({ userId, ...window }),
    }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((e) => failed.has(e.Id));
      if (pending.length > 0 && attempt >= 3)
        throw new Error(`SQS refused ${pending.length} report messages`);
    }
  };
  for (let i = 0; i < batches.length; i += 5) await Promise.all(batches.slice(i, i + 5).map(send));
}

async function fanOut(window: Window): Promise<number> {
  const users = await candidateUsers(window.start);
  await enqueue(users, window);
  return users.length;
}

async function markEnqueued(window: Window, users: number) {
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.run(SCHEDULE, window.start),
      UpdateExpression:
        'SET #users = :users, enqueuedAt = :at, #schedule = :schedule, #start = :start, #e = :e, #v = :v',
      ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk)',
      ExpressionAttributeNames: {
        '#users': 'users',
        '#schedule': 'schedule',
        '#start': 'start',
        '#e': '__edb_e__',
        '#v': '__edb_v__',
      },
      ExpressionAttributeValues: {
        ':users': users,
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
        UpdateExpression: 'SET #status = :enqueued, #users = :users, #schedule = :schedule, #e = :e, #v = :v',
        ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk) AND #end = :end',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#users': 'users',
          '#schedule': 'schedule',
          '#end': 'end',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: {
          ':enqueued': 'enqueued',
          ':users': users,
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
  const outcome: { users: number; resumed?: Window; window?: Window } = { users: 0 };
  if (
    cursor &&
    cursor.status === 'planning' &&
    now.getTime() - Date.parse(cursor.claimedAt) > STALE_AFTER_MS
  ) {
    const stale = { start: String(cursor.start), end: String(cursor.end) };
    await markEnqueued(stale, await fanOut(stale));
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
  outcome.users = await fanOut(window);
  await markEnqueued(window, outcome.users);
  return outcome;
};
