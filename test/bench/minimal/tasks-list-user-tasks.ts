// TasksListUserTasks, the minimal way: one Query (Limit = page + 1, newest first) per state partition of
// the user's gsi3 index (`userId#state`), three side by side for `all`, merged, as the real one does.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE, verifyJwt } from './shared.js';
import { EXTERNAL_ID } from './tasks-shared.js';

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([A-Za-z0-9._:@-]{1,128})$/;
const STATES = ['open', 'completed', 'deleted'];

const cursorOf = (position: string) =>
  Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');

function positionOf(cursor: string): [string, string] | undefined {
  try {
    const p = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown }).p;
    const match = typeof p === 'string' ? POSITION.exec(p) : null;
    return match?.[1] && match[2] ? [match[1], match[2]] : undefined;
  } catch {
    return undefined;
  }
}

type Task = {
  taskId: string;
  userId: string;
  content: string;
  isCompleted: boolean;
  createdAt: string;
  completedAt?: string;
  deletedAt?: string;
};

const newestFirst = (a: Task, b: Task) =>
  a.createdAt === b.createdAt
    ? a.taskId < b.taskId
      ? 1
      : a.taskId > b.taskId
        ? -1
        : 0
    : a.createdAt < b.createdAt
      ? 1
      : -1;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'tasks:read');
  if ('statusCode' in caller) return caller;
  const userId = event.pathParameters?.userId ?? '';
  const q = event.queryStringParameters ?? {};
  const status = q.status ?? 'all';
  const limit = Number(q.limit ?? '50');
  if (
    !EXTERNAL_ID.test(userId) ||
    !(status === 'all' || STATES.includes(status)) ||
    !/^\d{1,3}$/.test(q.limit ?? '50') ||
    limit < 1 ||
    limit > 100
  )
    return failure(400, 'Invalid request parameters.');
  const before = q.cursor === undefined ? undefined : positionOf(q.cursor);
  if (q.cursor !== undefined && !before) return failure(400, 'Invalid request parameters.');

  const take = limit + 1;
  const pages = await Promise.all(
    (status === 'all' ? STATES : [status]).map(async (state) => {
      const page = await doc.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: 'gsi3',
          KeyConditionExpression: before
            ? 'gsi3pk = :pk AND gsi3sk < :sk'
            : 'gsi3pk = :pk AND begins_with(gsi3sk, :sk)',
          ExpressionAttributeValues: {
            ':pk': `$tasks#userId_${userId}#state_${state}`,
            ':sk': before ? `$task_1#createdAt_${before[0]}#taskId_${before[1]}` : '$task_1#',
          },
          ScanIndexForward: false,
          Limit: take,
        }),
      );
      return (page.Items ?? []) as Task[];
    }),
  );
  const merged = pages.flat().sort(newestFirst).slice(0, take);
  const items = merged.slice(0, limit);
  const last = items.at(-1);
  return reply(200, {
    data: items.map((t) => ({
      id: t.taskId,
      userId: t.userId,
      content: t.content,
      isCompleted: t.isCompleted,
      createdAt: t.createdAt,
      completedAt: t.completedAt ?? null,
      deletedAt: t.deletedAt ?? null,
    })),
    next_cursor: merged.length > limit && last ? cursorOf(`${last.createdAt}|${last.taskId}`) : null,
  });
};
