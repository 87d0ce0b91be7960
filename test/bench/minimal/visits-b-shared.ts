// Helpers of the visits twins that read visits and move minutes (get, list, cancel, complete, ledger):
// the session check split in two (the token, then the account lookup, so the lookup can share a round
// trip with the other reads of the request), consistent BatchGet, Query with ElectroDB's `count`, the
// list cursors and page sizes of packages/platform/src/pagination.ts, and TransactWriteItems with the
// contention retry of packages/platform/src/dynamo.ts (retryContention, CONTENTION in visits.ts).
import { randomUUID } from 'node:crypto';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { jwtVerify } from 'jose';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  edb,
  fail,
  isReply,
  ledgerKey,
  listingDelete,
  listingPut,
  memberStatusPk,
  type Reply,
  type TransactionItem,
  tokenSecret,
  toTransaction,
  toVisit,
  transactionKey,
  userKey,
  type VisitItem,
  visitKey,
} from './visits-shared.js';

export type Item = Record<string, unknown>;
type Key = { pk: string; sk: string };

export const UUID = /^[\da-f]{8}(?:-[\da-f]{4}){3}-[\da-f]{12}$/i;
export const VISIT_STATUSES = ['requested', 'completed', 'canceled'] as const;

/** `source`: the event, so the envelope's request id is the real frame's (incoming x-request-id or fresh). */
export const unauthenticated = (source?: Event) => fail(401, 'Not authenticated', source);
export const badParameters = (source: Event | undefined, errors: Record<string, string[]>) =>
  fail(400, 'Invalid request parameters.', source, errors);

// ---- session (packages/visits/src/tokens.ts sessionAuthenticator) -----------------------------------

/**
 * The token half of the session check: `Bearer <t>` or the bare token, HS256 with the SSM secret,
 * issuer/audience `svc-visits`, `sub` and `exp` required, 5 s tolerance. The account lookup is the
 * caller's (`accountExists`, or the user key in a BatchGet with the request's other reads).
 */
export async function verifySession(event: Event): Promise<{ userId: string } | Reply> {
  const raw = event.headers?.authorization?.trim();
  const token = raw
    ? (/^Bearer\s+(\S+)$/i.exec(raw)?.[1] ?? (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(raw) ? raw : undefined))
    : undefined;
  if (!token) return unauthenticated(event);
  const secret = await tokenSecret();
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'svc-visits',
      audience: 'svc-visits',
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 5,
    });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return unauthenticated(event);
    return { userId: payload.sub };
  } catch {
    return unauthenticated(event);
  }
}

/** accounts.ts accountExists: a consistent GetItem of the user item, keys only. */
export async function accountExists(userId: string): Promise<boolean> {
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: userKey(userId),
      ConsistentRead: true,
      ProjectionExpression: 'pk',
    }),
  );
  return Item !== undefined;
}

// ---- reads --------------------------------------------------------------------------------------------

/** Consistent BatchGetItem of a few keys (one round trip unless DynamoDB leaves keys unprocessed). */
export async function batchGet(keys: Key[], projection?: string[]): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const names = projection && Object.fromEntries(projection.map((a, i) => [`#p${i}`, a]));
  let pending: Key[] = keys;
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** round));
    const out = await doc.send(
      new BatchGetCommand({
        RequestItems: {
          [TABLE]: {
            Keys: pending,
            ConsistentRead: true,
            ...(names
              ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names }
              : {}),
          },
        },
      }),
    );
    for (const item of out.Responses?.[TABLE] ?? []) found.set(`${item.pk}|${item.sk}`, item);
    pending = (out.UnprocessedKeys?.[TABLE]?.Keys as Key[] | undefined) ?? [];
  }
  return found;
}

export const keyOf = (k: Key) => `${k.pk}|${k.sk}`;

/**
 * The session check and the visit the path names, in one consistent BatchGetItem (what the real
 * `readVisitFor` does): the caller and the visit, or the refusal (401 for a missing account first, 400, 404).
 */
export async function callerAndVisit(
  event: Event,
): Promise<{ userId: string; key: Key; visit: Item } | Reply> {
  const caller = await verifySession(event);
  if (isReply(caller)) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!UUID.test(id)) {
    if (!(await accountExists(caller.userId))) return unauthenticated(event);
    return badParameters(event, { id: ['id must be a UUID'] });
  }
  const user = userKey(caller.userId);
  const key = visitKey(id);
  const found = await batchGet([user, key]);
  if (!found.has(keyOf(user))) return unauthenticated(event);
  const visit = found.get(keyOf(key));
  if (!visit) return fail(404, 'Visit not found.', event);
  return { userId: caller.userId, key, visit };
}

/**
 * ElectroDB's `go({ limit: take, count: take })`: Query pages of `take` until `take` items of the
 * entity (its `__edb_e__` marker, which ElectroDB checks on every item it returns) or the end.
 */
export async function queryUpTo(input: QueryCommandInput, take: number, entity: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new QueryCommand({ ...input, Limit: take, ExclusiveStartKey: start }));
    for (const item of out.Items ?? [])
      if (item.__edb_e__ === entity && item.__edb_v__ === '1') items.push(item);
    start = out.LastEvaluatedKey;
  } while (start && items.length < take);
  return items.slice(0, take);
}

// ---- pages (packages/platform/src/pagination.ts) ----------------------------------------------------

export const encodeCursor = (position: string) =>
  Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const p = (parsed as { p?: unknown } | null)?.p;
    return typeof p === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
};

/**
 * `?limit=&cursor=` (limit 1..100, default 50) and the cursor's position `sortValue|id` read with
 * `pattern`; field errors are collected into `errors` (a 400 once the caller is known to exist).
 */
export function readPage(
  query: Record<string, string | undefined>,
  pattern: RegExp,
  errors: Record<string, string[]>,
): { limit: number; after?: [string, string] } {
  const rawLimit = query.limit ?? '50';
  let limit = 50;
  if (/^\d{1,3}$/.test(rawLimit) && Number(rawLimit) >= 1 && Number(rawLimit) <= 100)
    limit = Number(rawLimit);
  else errors.limit = ['must be an integer from 1 to 100'];
  if (query.cursor === undefined) return { limit };
  const position = /^[A-Za-z0-9_-]{1,4096}$/.test(query.cursor) ? decodeCursor(query.cursor) : undefined;
  const match = position === undefined ? null : pattern.exec(position);
  if (!match?.[1] || !match[2]) {
    errors.cursor = ['is not a valid cursor'];
    return { limit };
  }
  return { limit, after: [match[1], match[2]] };
}

/** A page stops before its JSON passes 5 MB (Lambda answers at most 6 MB), always keeping one item. */
export function takeWithinBytes<T>(items: readonly T[], budgetBytes = 5 * 1024 * 1024): T[] {
  const kept: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (kept.length > 0 && used + size > budgetBytes) break;
    kept.push(item);
    used += size;
  }
  return kept;
}

// ---- transactions -------------------------------------------------------------------------------------

const CONTENTION_CODES = new Set([
  'TransactionConflict',
  'ProvisionedThroughputExceeded',
  'ThrottlingError',
  'RequestLimitExceeded',
]);

/**
 * One TransactWriteItems, retried (6 attempts, full jitter from 25 ms) while it is cancelled by
 * contention. Answers undefined when it went through, the per-item cancellation codes when a
 * condition failed, or 'contention' when the attempts ran out.
 */
export async function transact(
  items: TransactWriteCommandInput['TransactItems'],
): Promise<string[] | 'contention' | undefined> {
  for (let attempt = 1; ; attempt++) {
    let codes: string[];
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
      if (e.name === 'TransactionCanceledException' && Array.isArray(e.CancellationReasons)) {
        codes = e.CancellationReasons.map((r) => r.Code ?? 'None');
        if (!codes.some((c) => CONTENTION_CODES.has(c))) return codes;
      } else if (e.name !== 'TransactionConflictException' && e.name !== 'TransactionInProgressException') {
        throw error;
      }
    }
    if (attempt >= 6) return 'contention';
    await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attempt));
  }
}

export const contention = (event?: Event) =>
  fail(409, 'Too many concurrent changes to the same data, retry later.', event);

// ---- completion (visits.ts completeVisit; both VisitsCompleteVisit and VisitsRecordTransaction) -------

/** rules.ts palCredit: the minutes less a 15% overhead, rounded half up. */
const palCredit = (minutes: number) => {
  const credit = Math.floor((minutes * 85 + 50) / 100);
  return { palCredit: credit, fee: minutes - credit };
};

/**
 * The pal completes a requested visit: one consistent BatchGetItem (the caller's account, the visit),
 * one TransactWriteItems of eight items (the six below and the listing entry moved from requested to
 * completed) with the real conditions (visit requested; member's reservation
 * covers the minutes; pal exists; transaction and ledger copies new), one consistent BatchGetItem of
 * both balances for the answer: three calls, as the real handler makes.
 */
export async function completeVisit(event: Event) {
  const read = await callerAndVisit(event);
  if (isReply(read)) return read;
  const { userId: palId, key } = read;
  const pal = userKey(palId);
  const visit = read.visit as unknown as VisitItem;
  const visitId = visit.visitId;
  if (visit.memberId === palId) return fail(403, 'You cannot complete your own visit.', event);
  if (visit.status !== 'requested') return fail(409, `The visit is ${visit.status}, not requested.`, event);

  const m = visit.minutes;
  const split = palCredit(m);
  const now = new Date().toISOString();
  const record: TransactionItem = {
    transactionId: randomUUID(),
    visitId,
    memberId: visit.memberId,
    palId,
    minutes: m,
    palCredit: split.palCredit,
    fee: split.fee,
    createdAt: now,
  };
  const member = userKey(visit.memberId);
  const isNew = {
    ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(#sk)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
  };
  const ledger = (ownerId: string, role: 'member' | 'pal') => ({
    Put: {
      TableName: TABLE,
      Item: {
        ownerId,
        role,
        ...record,
        ...ledgerKey(ownerId, record.createdAt, record.transactionId),
        ...edb('ledger'),
      },
      ...isNew,
    },
  });
  const codes = await transact([
    {
      Update: {
        TableName: TABLE,
        Key: key,
        UpdateExpression:
          'SET #status = :completed, #palId = :pal, #completedAt = :at, #gsi3pk = :g3, #visitId = :id, #e = :e, #v = :v',
        ConditionExpression:
          'attribute_exists(#pk) AND attribute_exists(#sk) AND #memberId = :member AND #date = :date AND #status = :requested',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#status': 'status',
          '#palId': 'palId',
          '#completedAt': 'completedAt',
          '#gsi3pk': 'gsi3pk',
          '#visitId': 'visitId',
          '#memberId': 'memberId',
          '#date': 'date',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: {
          ':completed': 'completed',
          ':requested': 'requested',
          ':pal': palId,
          ':at': now,
          ':g3': memberStatusPk(visit.memberId, 'completed'),
          ':id': visitId,
          ':member': visit.memberId,
          ':date': visit.date,
          ':e': 'visit',
          ':v': '1',
        },
      },
    },
    {
      Update: {
        TableName: TABLE,
        Key: member,
        UpdateExpression:
          'SET #minutes = #minutes - :m, #reserved = #reserved - :m, #userId = :uid, #e = :e, #v = :v',
        ConditionExpression: 'attribute_exists(#pk) AND attribute_exists(#sk) AND #reserved >= :m',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#minutes': 'minutes',
          '#reserved': 'reserved',
          '#userId': 'userId',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: { ':m': m, ':uid': visit.memberId, ':e': 'user', ':v': '1' },
      },
    },
    {
      Update: {
        TableName: TABLE,
        Key: pal,
        UpdateExpression: 'SET #userId = :uid, #e = :e, #v = :v ADD #minutes :c, #available :c',
        ConditionExpression: 'attribute_exists(#pk) AND attribute_exists(#sk)',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#minutes': 'minutes',
          '#available': 'available',
          '#userId': 'userId',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: { ':c': split.palCredit, ':uid': palId, ':e': 'user', ':v': '1' },
      },
    },
    {
      Put: {
        TableName: TABLE,
        Item: { ...record, ...transactionKey(visitId), ...edb('transaction') },
        ...isNew,
      },
    },
    ledger(visit.memberId, 'member'),
    ledger(palId, 'pal'),
    listingDelete('requested', visit),
    listingPut('completed', visit),
  ]);
  if (codes === 'contention') return contention(event);
  if (codes) {
    if (codes[0] === 'ConditionalCheckFailed' || codes[3] === 'ConditionalCheckFailed')
      return fail(409, 'The visit is no longer requested.', event);
    if (codes[2] === 'ConditionalCheckFailed') return unauthenticated(event);
    // The member's reservation is gone only if its account was deleted, which cancels the visit first.
    return fail(409, 'The visit can no longer be completed.', event);
  }

  const balances = await batchGet([member, pal], ['pk', 'sk', 'minutes']);
  const minutesOf = (k: Key) => (balances.get(keyOf(k))?.minutes as number | undefined) ?? 0;
  return reply(200, {
    data: {
      transaction: toTransaction(record),
      visit: toVisit({ ...visit, status: 'completed', palId, completedAt: now }),
      member: { id: visit.memberId, minutes: minutesOf(member) },
      pal: { id: palId, minutes: minutesOf(pal) },
    },
  });
}
