// TasksWebhook, the minimal way: the optional signing secret from SSM (as the real one, asked every call
// while it is absent: Powertools caches values, not ParameterNotFound), the task read strongly consistent,
// beside it the user's change record (carry-forward of reports) and activity marker (report candidates, issue
// 16: a plain put, once per 15-minute bucket per container), then one TransactWriteItems of the whole task
// item (conditional) and the delivery's audit record, beside it the user's open-set entry when the task stays
// open (a plain put, once per bucket per container); a delivery that changes nothing still writes its record
// (create-if-absent).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE } from './shared.js';
import { candidateShardOf, EXTERNAL_ID, instant, keys, marks } from './tasks-shared.js';

const ssm = new SSMClient({});
const SECRET_NAME = process.env.PARAM_TASKS_WEBHOOK_SECRET ?? '';
const RETENTION_DAYS = Number(process.env.TASK_AUDIT_RETENTION_DAYS || 90);
let cached: { value: string | undefined; until: number } | undefined;

async function secret(): Promise<string | undefined> {
  if (!SECRET_NAME) return undefined;
  if (cached && cached.until > Date.now()) return cached.value;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: SECRET_NAME, WithDecryption: true }));
    const value = out.Parameter?.Value || undefined;
    cached = { value, until: Date.now() + 60_000 };
    return value;
  } catch (error) {
    if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

function signed(key: string, event: Event & { isBase64Encoded?: boolean }): boolean {
  const signature = /^sha256=([0-9a-f]{64})$/i.exec(event.headers?.['x-webhook-signature']?.trim() ?? '');
  const timestamp = event.headers?.['x-webhook-timestamp']?.trim() ?? '';
  if (!signature?.[1] || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const raw = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const given = Buffer.from(signature[1], 'hex');
  const expected = createHmac('sha256', key).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Task {
  taskId: string;
  userId: string;
  content: string;
  isCompleted: boolean;
  createdAt: string;
  completedAt?: string;
  deletedAt?: string;
  lastEventAt: string;
  completionKey: string;
  createdDigest: string;
}

/** What this container already wrote (candidates.ts memo): one activity and open-set put per bucket. */
const written = new Set<string>();
const BUCKET_MS = 15 * 60_000;
const bucketOf = (ms: number) => new Date(ms - (ms % BUCKET_MS)).toISOString();

/** Puts a marker item once per container and `memo` (the real webhook memoizes the same way). */
async function putOnce(memo: string, item: Record<string, unknown>) {
  if (written.has(memo)) return;
  await doc.send(new PutCommand({ TableName: TABLE, Item: item }));
  written.add(memo);
}

/** candidates.ts markActivity: the user's marker in the bucket of `now`, expiring after 15 days. */
async function markActivity(userId: string, now: Date) {
  const bucket = bucketOf(now.getTime());
  const shard = candidateShardOf(userId);
  await putOnce(`a|${bucket}|${userId}`, {
    activityBucket: bucket,
    activityShard: shard,
    userId,
    expiresAt: Math.floor(Date.parse(bucket) / 1000) + 15 * 86_400,
    pk: `$tasks#activityBucket_${bucket}#activityShard_${shard}`,
    sk: `$activity_1#userId_${userId}`,
    ...marks('activity'),
  });
}

/** candidates.ts markOpen: the user in the open set. */
async function markOpen(userId: string, now: Date) {
  const shard = candidateShardOf(userId);
  await putOnce(`o|${bucketOf(now.getTime())}|${userId}`, {
    openShard: shard,
    userId,
    asOf: now.toISOString(),
    pk: `$tasks#openShard_${shard}`,
    sk: `$openUser_1#userId_${userId}`,
    ...marks('openUser'),
  });
}

const isOpen = (t: Task | undefined) => t !== undefined && !t.isCompleted && !t.deletedAt;

/** The whole item as ElectroDB puts it: attributes, keys, the sparse index keys its state selects, markers. */
function itemOf(t: Task): Record<string, unknown> {
  const item: Record<string, unknown> = {
    taskId: t.taskId,
    userId: t.userId,
    content: t.content,
    isCompleted: t.isCompleted,
    createdAt: t.createdAt,
    lastEventAt: t.lastEventAt,
    completionKey: t.completionKey,
    createdDigest: t.createdDigest,
    ...keys.task(t.taskId),
  };
  if (t.completedAt !== undefined) item.completedAt = t.completedAt;
  if (t.deletedAt !== undefined) item.deletedAt = t.deletedAt;
  if (!t.isCompleted && !t.deletedAt) {
    item.gsi1pk = `$tasks#userId_${t.userId}`;
    item.gsi1sk = `$task_1#createdAt_${t.createdAt}#taskId_${t.taskId}`;
  }
  if (t.isCompleted && !t.deletedAt && typeof t.completedAt === 'string') {
    item.gsi2pk = `$tasks#userId_${t.userId}`;
    item.gsi2sk = `$task_1#completionKey_${t.completionKey}`;
  }
  const state = t.deletedAt ? 'deleted' : t.isCompleted ? 'completed' : 'open';
  item.state = state;
  item.gsi3pk = `$tasks#userId_${t.userId}#state_${state}`;
  item.gsi3sk = `$task_1#createdAt_${t.createdAt}#taskId_${t.taskId}`;
  return { ...item, ...marks('task') };
}

export const handler = async (event: Event & { isBase64Encoded?: boolean }) => {
  const key = await secret();
  if (key && !signed(key, event)) return failure(401, 'Missing or invalid webhook signature.');
  if (!event.body) return failure(400, 'Request body must be a JSON object.');
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(event.headers?.['content-type'] ?? ''))
    return failure(415, 'Content-Type must be application/json.');
  let input: {
    event?: unknown;
    timestamp?: unknown;
    metadata?: { userId?: unknown; id?: unknown; content?: unknown; isCompleted?: unknown };
  };
  try {
    input = JSON.parse(event.body);
  } catch {
    return failure(400, 'Request body is not valid JSON.');
  }
  const at = instant(input.timestamp);
  const { userId, id, content, isCompleted } = input.metadata ?? {};
  if (
    typeof input.event !== 'string' ||
    !at ||
    typeof userId !== 'string' ||
    !EXTERNAL_ID.test(userId) ||
    typeof id !== 'string' ||
    !EXTERNAL_ID.test(id) ||
    typeof content !== 'string' ||
    typeof isCompleted !== 'boolean'
  )
    return failure(422, 'Validation failed.');
  const name = input.event;
  if (name !== 'created' && name !== 'updated' && name !== 'deleted') return failure(400, 'Unknown event.');
  const digest = createHash('sha256')
    .update(JSON.stringify([at, userId, id, content, isCompleted]))
    .digest('base64url');
  const accepted = (applied: boolean) => reply(202, { status: 'accepted', applied });
  const deliveryId = createHash('sha256')
    .update(JSON.stringify([name, at, userId, id, content, isCompleted]))
    .digest('base64url');
  const payload = JSON.stringify({
    event: name,
    timestamp: at,
    metadata: { userId, id, content, isCompleted },
  });
  const record = (outcome: string) => {
    const now = new Date();
    return {
      taskId: id,
      deliveryId,
      userId,
      event: name,
      timestamp: at,
      receivedAt: now.toISOString(),
      applied: outcome === 'applied',
      outcome,
      payload,
      expiresAt: Math.floor(now.getTime() / 1000) + RETENTION_DAYS * 86_400,
      pk: keys.task(id).pk,
      sk: `$taskEvent_1#timestamp_${at}#deliveryId_${deliveryId}`,
      ...marks('taskEvent'),
    };
  };
  /** Records a delivery that changed nothing, unless this delivery is already recorded. */
  const unapplied = async (outcome: string) => {
    try {
      await doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: record(outcome),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  };
  const notApplied = async (outcome: string) => {
    await unapplied(outcome);
    return accepted(false);
  };
  const rejected = async (status: number, message: string) => {
    await unapplied('rejected');
    return failure(status, message);
  };

  for (let attempt = 0; attempt <= 10; attempt++) {
    // Beside the first read, as the real one: the user's change record (server time) that the next
    // carried-forward report re-reads this task by.
    const changedAt = new Date().toISOString();
    const now = new Date();
    const [{ Item }] = await Promise.all([
      doc.send(new GetCommand({ TableName: TABLE, Key: keys.task(id), ConsistentRead: true })),
      attempt === 0 ? markActivity(userId, now) : undefined,
      attempt === 0
        ? doc.send(
            new PutCommand({
              TableName: TABLE,
              Item: {
                pk: `$tasks#userId_${userId}`,
                sk: `$taskChange_1#changedAt_${changedAt}#taskId_${id}`,
                userId,
                changedAt,
                taskId: id,
                expiresAt: Math.floor(Date.now() / 1000) + 15 * 86_400,
                ...marks('taskChange'),
              },
            }),
          )
        : undefined,
    ]);
    const current = Item as Task | undefined;
    if (current && current.userId !== userId) return failure(409, 'This task id belongs to another user.');
    let after: Task;
    if (name === 'created') {
      if (current) {
        if (current.createdDigest === digest) return notApplied('repeat');
        return rejected(409, 'A different task with this id was already created.');
      }
      after = {
        taskId: id,
        userId,
        content,
        isCompleted,
        createdAt: at,
        ...(isCompleted ? { completedAt: at } : {}),
        lastEventAt: at,
        completionKey: at,
        createdDigest: digest,
      };
    } else {
      if (!current) return rejected(404, 'Task not found.');
      if (at < current.lastEventAt) return notApplied('stale');
      if (current.deletedAt)
        return name === 'deleted' ? notApplied('repeat') : rejected(409, 'The task was deleted.');
      if (name === 'deleted') after = { ...current, deletedAt: at, lastEventAt: at };
      else {
        after = { ...current, content, isCompleted, lastEventAt: at };
        if (isCompleted) after.completedAt = current.isCompleted ? (current.completedAt ?? at) : at;
        else delete after.completedAt;
      }
    }
    after.completionKey = after.completedAt ?? after.createdAt;
    const marking = isOpen(after) ? markOpen(userId, now) : undefined;
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: TABLE,
                Item: itemOf(after),
                ...(current
                  ? {
                      ConditionExpression: '#last = :read AND #last <= :at',
                      ExpressionAttributeNames: { '#last': 'lastEventAt' },
                      ExpressionAttributeValues: { ':read': current.lastEventAt, ':at': at },
                    }
                  : {
                      ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(#sk)',
                      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
                    }),
              },
            },
            {
              Put: {
                TableName: TABLE,
                Item: record('applied'),
                ConditionExpression: 'attribute_not_exists(#pk) OR #applied = :false',
                ExpressionAttributeNames: { '#pk': 'pk', '#applied': 'applied' },
                ExpressionAttributeValues: { ':false': false },
              },
            },
          ],
        }),
      );
      await marking;
      return accepted(true);
    } catch (error) {
      const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map(
        (r) => r.Code,
      );
      await marking;
      if (codes[1] === 'ConditionalCheckFailed') return accepted(false); // this delivery was applied already
      // The task changed between the read and the write (or a concurrent transaction): decide again.
      if (codes[0] !== 'ConditionalCheckFailed' && !codes.includes('TransactionConflict')) throw error;
    }
  }
  return failure(409, 'Too many concurrent changes to this task, retry later.');
};
