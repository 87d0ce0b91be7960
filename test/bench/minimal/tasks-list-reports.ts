// TasksListReports, the minimal way: one Query (Limit = page + 1, newest first) on the user's report index
// (gsi1) or on the everyone index (gsi2), keeping stored reports only, as the real one does.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE, verifyJwt } from './shared.js';
import { EXTERNAL_ID } from './tasks-shared.js';

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

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

type Item = {
  reportId: string;
  userId: string;
  periodStart: string;
  periodEnd: string;
  newIncomplete?: number;
  completed?: number;
  oldIncomplete?: number;
};

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'tasks:read');
  if ('statusCode' in caller) return caller;
  const q = event.queryStringParameters ?? {};
  const limit = Number(q.limit ?? '50');
  if (
    !/^\d{1,3}$/.test(q.limit ?? '50') ||
    limit < 1 ||
    limit > 100 ||
    (q.userId && !EXTERNAL_ID.test(q.userId))
  )
    return failure(400, 'Invalid request parameters.');
  const before = q.cursor === undefined ? undefined : positionOf(q.cursor);
  if (q.cursor !== undefined && !before) return failure(400, 'Invalid request parameters.');

  const [index, pk] = q.userId ? ['gsi1', `$tasks#userId_${q.userId}`] : ['gsi2', '$tasks#everyone_all'];
  const take = limit + 1;
  const data: Item[] = [];
  let start: Record<string, unknown> | undefined;
  // Pages only while the filter left the page short and there is more (one Query in the common case).
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: index,
        KeyConditionExpression: before
          ? `${index}pk = :pk AND ${index}sk < :sk`
          : `${index}pk = :pk AND begins_with(${index}sk, :sk)`,
        FilterExpression: '#status = :stored',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':pk': pk,
          ':sk': before ? `$report_1#periodEnd_${before[0]}#reportId_${before[1]}` : '$report_1#periodEnd_',
          ':stored': 'stored',
        },
        ScanIndexForward: false,
        Limit: take - data.length,
        ExclusiveStartKey: start,
      }),
    );
    data.push(...((page.Items ?? []) as Item[]));
    start = page.LastEvaluatedKey;
  } while (start && data.length < take);

  const items = data.slice(0, limit);
  const last = items.at(-1);
  return reply(200, {
    data: items.map((r) => ({
      id: r.reportId,
      userId: r.userId,
      period: { start: r.periodStart, end: r.periodEnd },
      counts: {
        newIncomplete: r.newIncomplete ?? 0,
        completed: r.completed ?? 0,
        oldIncomplete: r.oldIncomplete ?? 0,
      },
    })),
    next_cursor: data.length > limit && last ? cursorOf(`${last.periodEnd}|${last.reportId}`) : null,
  });
};
