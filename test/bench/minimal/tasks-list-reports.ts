// TasksListReports, the minimal way: one Query (Limit = page + 1, newest first) on the user's report index
// (gsi1), or one on each of the 16 shards of the everyone index (gsi2, issue 16) merged newest first, keeping
// stored reports within retention only (expiresAt), as the real one does.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE, verifyJwt } from './shared.js';
import { EXTERNAL_ID } from './tasks-shared.js';

/** Shards of the everyone list (entities.ts REPORT_LIST_SHARDS). */
const REPORT_LIST_SHARDS = 16;

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

  const take = limit + 1;
  const nowSeconds = Math.floor(Date.now() / 1000);
  /** Up to `take` live reports of one gsi1/gsi2 partition, newest first (pages only while the filter left it short). */
  const partition = async (index: string, pk: string): Promise<Item[]> => {
    const out: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: index,
          KeyConditionExpression: before
            ? `${index}pk = :pk AND ${index}sk < :sk`
            : `${index}pk = :pk AND begins_with(${index}sk, :sk)`,
          FilterExpression: '#status = :stored AND (attribute_not_exists(#exp) OR #exp > :now)',
          ExpressionAttributeNames: { '#status': 'status', '#exp': 'expiresAt' },
          ExpressionAttributeValues: {
            ':pk': pk,
            ':sk': before ? `$report_1#periodEnd_${before[0]}#reportId_${before[1]}` : '$report_1#periodEnd_',
            ':stored': 'stored',
            ':now': nowSeconds,
          },
          ScanIndexForward: false,
          Limit: take,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...((page.Items ?? []) as Item[]));
      start = page.LastEvaluatedKey;
    } while (start && out.length < take);
    return out.slice(0, take);
  };
  const data = q.userId
    ? await partition('gsi1', `$tasks#userId_${q.userId}`)
    : (
        await Promise.all(
          Array.from({ length: REPORT_LIST_SHARDS }, (_, i) => partition('gsi2', `$tasks#listShard_${i}`)),
        )
      )
        .flat()
        .sort((a, b) => b.periodEnd.localeCompare(a.periodEnd) || b.reportId.localeCompare(a.reportId));

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
