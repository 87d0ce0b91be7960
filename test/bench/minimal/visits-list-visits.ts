// Twin of VisitsListVisits (functions/visits/list-visits.ts, visits.ts listVisits): soonest first. With a
// member: one Query with Limit (limit + 1) on the member's index (gsi2, or gsi3 with a status). Without one
// (issue 16's open-visits index): the listing entries of the status (all three with no filter) on their 32
// shards, one Query each (date >= today for requested), merged; then the page's visits by id in one
// eventually consistent BatchGetItem. The pals' first page (status=requested, no member, no cursor) is kept
// 1 s per container, as the real one is. The account lookup runs beside the reads (the token is verified
// first), as the real handler does (Visits.asCaller).
import { BatchGetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  accountExists,
  badParameters,
  encodeCursor,
  type Item,
  queryUpTo,
  readPage,
  takeWithinBytes,
  UUID,
  unauthenticated,
  VISIT_STATUSES,
  verifySession,
} from './visits-b-shared.js';
import {
  type Context,
  fail,
  isReply,
  LIST_SHARDS,
  LISTING_SK_PREFIX,
  listingPk,
  listingSk,
  memberPk,
  memberStatusPk,
  toVisit,
  VISIT_SK_PREFIX,
  type VisitItem,
  visitKey,
  visitSk,
} from './visits-shared.js';

const POSITION = /^(\d{4}-\d{2}-\d{2})\|([0-9a-f-]{36})$/;
type Entry = { date: string; visitId: string };
type Page = { data: ReturnType<typeof toVisit>[]; next_cursor: string | null };

const byDate = (a: Entry, b: Entry) =>
  a.date < b.date ? -1 : a.date > b.date ? 1 : a.visitId < b.visitId ? -1 : a.visitId > b.visitId ? 1 : 0;

/** Up to `limit` visits within a Lambda response, with the cursor after the last one when more follow. */
const pageOf = (items: Item[], limit: number): Page => {
  const visits = takeWithinBytes(items.slice(0, limit).map((v) => toVisit(v as unknown as VisitItem)));
  const last = items[visits.length - 1];
  return {
    data: visits,
    next_cursor: items.length > visits.length && last ? encodeCursor(`${last.date}|${last.visitId}`) : null,
  };
};

/** One list shard: Query pages of `take` until `take` entries or the end, date and id only. */
async function shardEntries(status: string, shard: number, sk: string, op: string, take: number) {
  const input: QueryCommandInput = {
    TableName: TABLE,
    KeyConditionExpression:
      op === 'begins' ? '#pk = :pk and begins_with(#sk, :sk)' : `#pk = :pk and #sk ${op} :sk`,
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#d': 'date', '#id': 'visitId' },
    ExpressionAttributeValues: { ':pk': listingPk(status, shard), ':sk': sk },
    ProjectionExpression: '#d, #id',
  };
  const out: Entry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, Limit: take, ExclusiveStartKey: start }));
    out.push(...((page.Items ?? []) as Entry[]));
    start = page.LastEvaluatedKey;
  } while (start && out.length < take);
  return out.slice(0, take);
}

/** The page's visits by id: one eventually consistent BatchGetItem, unprocessed keys retried, then 503. */
async function visitsById(ids: string[]): Promise<Map<string, Item> | 'throttled'> {
  const found = new Map<string, Item>();
  let pending = ids.map(visitKey);
  for (let round = 0; pending.length > 0; round++) {
    if (round === 4) return 'throttled';
    if (round > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** round));
    const out = await doc.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: pending } } }));
    for (const item of out.Responses?.[TABLE] ?? []) found.set(item.visitId as string, item);
    pending = (out.UnprocessedKeys?.[TABLE]?.Keys as typeof pending | undefined) ?? [];
  }
  return found;
}

async function acrossMembers(
  status: string | undefined,
  after: [string, string] | undefined,
  limit: number,
): Promise<Page | 'throttled'> {
  const take = limit + 1;
  const today = new Date().toISOString().slice(0, 10);
  const reads = (status ? [status] : VISIT_STATUSES).flatMap((s) =>
    Array.from({ length: LIST_SHARDS }, (_, shard) => {
      const floor = s === 'requested' && (!after || after[0] < today);
      if (floor) return shardEntries(s, shard, `${LISTING_SK_PREFIX}${today}`, '>=', take);
      if (after) return shardEntries(s, shard, listingSk(after[0], after[1]), '>', take);
      return shardEntries(s, shard, LISTING_SK_PREFIX, 'begins', take);
    }),
  );
  const merged = (await Promise.all(reads)).flat().sort(byDate);
  const entries = merged.slice(0, limit);
  const visits = await visitsById(entries.map((e) => e.visitId));
  if (visits === 'throttled') return visits;
  const items = entries.flatMap((e): Item[] => {
    const v = visits.get(e.visitId);
    return v ? [v] : [];
  });
  const page = pageOf(items, limit);
  const last = items.at(-1);
  if (merged.length > limit && page.next_cursor === null && last)
    page.next_cursor = encodeCursor(`${last.date}|${last.visitId}`);
  return page;
}

/** Pages across members, kept 1 s per container (visits.ts LIST_PAGE_CACHE_MS). */
const heads = new Map<string, { at: number; page: Promise<Page | 'throttled'> }>();

export const handler = async (event: Event, _context?: Context) => {
  const caller = await verifySession(event);
  if (isReply(caller)) return caller;
  const query = event.queryStringParameters ?? {};
  const errors: Record<string, string[]> = {};
  const status = query.status;
  if (status !== undefined && !(VISIT_STATUSES as readonly string[]).includes(status))
    errors.status = [`status must be one of ${VISIT_STATUSES.join(', ')}`];
  const memberId = query.member_id;
  if (memberId !== undefined && !UUID.test(memberId)) errors.member_id = ['member_id must be a UUID'];
  const { limit, after } = readPage(query, POSITION, errors);
  if (Object.keys(errors).length > 0) {
    if (!(await accountExists(caller.userId))) return unauthenticated(event);
    return badParameters(event, errors);
  }

  const ofMember = async (): Promise<Page> => {
    const index = status ? 'gsi3' : 'gsi2';
    const input: QueryCommandInput = {
      TableName: TABLE,
      IndexName: index,
      KeyConditionExpression: after ? '#pk = :pk and #sk > :sk' : '#pk = :pk and begins_with(#sk, :sk)',
      ExpressionAttributeNames: { '#pk': `${index}pk`, '#sk': `${index}sk` },
      ExpressionAttributeValues: {
        ':pk': status ? memberStatusPk(memberId ?? '', status) : memberPk(memberId ?? ''),
        ':sk': after ? visitSk(after[0], after[1]) : VISIT_SK_PREFIX,
      },
    };
    return pageOf(await queryUpTo(input, limit + 1, 'visit'), limit);
  };
  const read = (): Promise<Page | 'throttled'> => {
    if (memberId) return ofMember();
    const key = `${status ?? ''}|${new Date().toISOString().slice(0, 10)}|${limit}|${query.cursor ?? ''}`;
    const cached = heads.get(key);
    if (cached && Date.now() - cached.at < 1000) return cached.page;
    const page = acrossMembers(status, after, limit);
    heads.set(key, { at: Date.now(), page });
    page.catch(() => heads.delete(key));
    return page;
  };
  const [exists, page] = await Promise.all([accountExists(caller.userId), read()]);
  if (!exists) return unauthenticated(event);
  if (page === 'throttled') return fail(503, 'DynamoDB is throttling reads, retry later.', event);
  return reply(200, page);
};
