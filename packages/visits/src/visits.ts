import { randomUUID } from 'node:crypto';
import {
  batchGetConsistent,
  Conflict,
  encodeCursor,
  Forbidden,
  mergeShards,
  metrics,
  NotAuthenticated,
  NotFound,
  type Page,
  type RetryOptions,
  readAllKeys,
  readPosition,
  retryContention,
  SharedPages,
  takeWithinBytes,
  transactionCodes,
  ValidationFailed,
} from '@svc/platform';
import { LIST_SHARDS, listShard, visitsDb } from './entities.js';
import { VisitsMetric } from './metrics.js';
import { isTodayOrLater, palCredit, utcDay, VISIT_STATUSES, type VisitStatus } from './rules.js';
import type { Completion, Transaction, Visit, VisitInput } from './schemas.js';
import { isRevoked, type Session } from './tokens.js';

/**
 * Who calls: a user id (domain code and tests), or the session of a token, whose revocation (logout) the
 * route's first read checks along with the account (see tokens.ts `isRevoked`).
 */
export type Caller = string | Session;
const idOf = (caller: Caller) => (typeof caller === 'string' ? caller : caller.userId);
const sessionIn = (caller: Caller) => (typeof caller === 'string' ? undefined : caller);

/** Many callers hit one member item at once (SPEC §1 concurrency); a few more tries than the default. */
export const CONTENTION: RetryOptions = { attempts: 6, baseDelayMs: 25 };

export type VisitItem = {
  visitId: string;
  memberId: string;
  date: string;
  minutes: number;
  status: VisitStatus;
  tasks: { id: string; name: string; description?: string | undefined }[];
  palId?: string | undefined;
  createdAt: string;
  completedAt?: string | undefined;
  canceledAt?: string | undefined;
};

export const toVisit = (v: VisitItem): Visit => ({
  id: v.visitId,
  member_id: v.memberId,
  date: v.date,
  minutes: v.minutes,
  status: v.status,
  tasks: v.tasks.map((t) => ({ id: t.id, name: t.name, description: t.description ?? null })),
  created_at: v.createdAt,
  ...(v.palId ? { pal_id: v.palId } : {}),
  ...(v.completedAt ? { completed_at: v.completedAt } : {}),
  ...(v.canceledAt ? { canceled_at: v.canceledAt } : {}),
});

type TransactionItem = {
  transactionId: string;
  visitId: string;
  memberId: string;
  palId: string;
  minutes: number;
  palCredit: number;
  fee: number;
  createdAt: string;
};

export const toTransaction = (t: TransactionItem): Transaction => ({
  id: t.transactionId,
  visit_id: t.visitId,
  member_id: t.memberId,
  pal_id: t.palId,
  minutes: t.minutes,
  pal_credit: t.palCredit,
  fee: t.fee,
  created_at: t.createdAt,
});

/**
 * A visit's tasks (names and descriptions, UTF-8) total at most this: the visit item, which the member's
 * own indexes copy whole, stays under ~18 KB (~18 WCU per write) instead of the ~330 KB fifty long tasks
 * in three-byte characters would take. Beyond it: 422 `errors.tasks`.
 */
export const MAX_TASK_BYTES = 16 * 1024;

const taskBytes = (tasks: VisitInput['tasks']) =>
  tasks.reduce((n, t) => n + Buffer.byteLength(t.name) + Buffer.byteLength(t.description ?? ''), 0);

const DAY_SECONDS = 86_400;

/** A visit's entry in the list of `status` across members (see entities.ts `ListingEntity`). */
export function listing(status: VisitStatus, visit: { visitId: string; date: string }) {
  return {
    status,
    shard: listShard(visit.visitId),
    date: visit.date,
    visitId: visit.visitId,
    // A requested entry is dropped by DynamoDB two days after its date: the list stopped showing it at midnight.
    ...(status === 'requested'
      ? { expiresAt: Math.floor(Date.parse(`${visit.date}T00:00:00Z`) / 1000) + 3 * DAY_SECONDS }
      : {}),
  };
}

const listingKey = (status: VisitStatus, visit: { visitId: string; date: string }) => ({
  status,
  shard: listShard(visit.visitId),
  date: visit.date,
  visitId: visit.visitId,
});

const budgetExceeded = () => new ValidationFailed({ minutes: ['exceeds available minutes'] });

async function readVisit(visitId: string): Promise<VisitItem> {
  const { data } = await visitsDb().entities.visit.get({ visitId }).go({ consistent: true });
  if (!data) throw new NotFound('Visit not found.');
  return data;
}

async function readMember(userId: string) {
  const { data } = await visitsDb().entities.user.get({ userId }).go({ consistent: true });
  return data;
}
type UserItem = NonNullable<Awaited<ReturnType<typeof readMember>>>;

/** Accounts and a visit in one consistent BatchGetItem, each item parsed by the entity it belongs to. */
async function readTogether(keys: { users: string[]; visitId?: string }) {
  const db = visitsDb();
  const items = await batchGetConsistent([
    ...[...new Set(keys.users)].map((userId) => db.entities.user.get({ userId }).params().Key),
    ...(keys.visitId ? [db.entities.visit.get({ visitId: keys.visitId }).params().Key] : []),
  ]);
  const users = new Map<string, UserItem>();
  let visit: VisitItem | undefined;
  for (const Item of items) {
    const user = db.entities.user.parse({ Item }).data;
    if (user) users.set(user.userId, user);
    visit ??= db.entities.visit.parse({ Item }).data ?? undefined;
  }
  return { users, visit };
}

/**
 * A list route's read, run beside the caller's account check instead of after it (these routes use
 * `tokenAuthenticator`): one round trip of latency instead of two, the same two calls. A missing account
 * wins over anything the read answered or threw, as the full session check would.
 */
export async function asCaller<T>(caller: Caller, read: () => Promise<T>): Promise<T> {
  const [account, result] = await Promise.allSettled([
    visitsDb()
      .entities.user.get({ userId: idOf(caller) })
      .go({ consistent: true, attributes: ['userId', 'revoked', 'tokensNotBefore'] }),
    read(),
  ]);
  if (account.status === 'rejected') throw account.reason;
  if (!account.value.data || isRevoked(account.value.data, sessionIn(caller))) throw new NotAuthenticated();
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/**
 * A visit route's first read: the caller's account and the visit in one consistent BatchGetItem, so the
 * account check (these routes use `tokenAuthenticator`) costs no round trip of its own. A missing account is
 * refused before anything about the visit is told, as the full session check would.
 */
async function readVisitFor(caller: Caller, visitId: string): Promise<VisitItem> {
  const { users, visit } = await readTogether({ users: [idOf(caller)], visitId });
  const account = users.get(idOf(caller));
  if (!account || isRevoked(account, sessionIn(caller))) throw new NotAuthenticated();
  if (!visit) throw new NotFound('Visit not found.');
  return visit;
}

/**
 * Reserves the minutes on the member and stores the visit in one transaction. The member update is
 * conditional on `available >= minutes` (available = minutes − reserved), so no interleaving of
 * requests can reserve more than the balance covers.
 */
export async function requestVisit(memberId: string, input: VisitInput, now = new Date()): Promise<Visit> {
  if (!isTodayOrLater(input.date, now)) throw new ValidationFailed({ date: ['must be today or later'] });
  if (taskBytes(input.tasks) > MAX_TASK_BYTES)
    throw new ValidationFailed({
      tasks: [`must total at most ${MAX_TASK_BYTES} bytes of names and descriptions (UTF-8)`],
    });
  const item: VisitItem = {
    visitId: randomUUID(),
    memberId,
    date: input.date,
    minutes: input.minutes,
    status: 'requested',
    tasks: input.tasks.map((t) => ({
      id: randomUUID(),
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
    })),
    createdAt: now.toISOString(),
  };
  const m = input.minutes;
  const db = visitsDb();
  await retryContention(async () => {
    const outcome = await db.transaction
      .write(({ user, visit, listing: listings }) => [
        user
          .patch({ userId: memberId })
          .add({ reserved: m })
          .subtract({ available: m })
          .where(
            ({ available, closing }, { gte, notExists }) => `${gte(available, m)} AND ${notExists(closing)}`,
          )
          .commit(),
        visit.create(item).commit(),
        listings.put(listing('requested', item)).commit(),
      ])
      .go();
    const codes = transactionCodes(outcome);
    if (!codes) return;
    if (codes[0] === 'ConditionalCheckFailed') {
      const member = await readMember(memberId);
      if (!member) throw new NotAuthenticated();
      if (member.closing) throw new Conflict('This account is being deleted.');
      throw budgetExceeded();
    }
    throw new Error(`unexpected visit request cancellation: ${codes.join(',')}`);
  }, CONTENTION);
  metrics.count(VisitsMetric.requested);
  return toVisit(item);
}

export async function getVisit(visitId: string): Promise<Visit> {
  return toVisit(await readVisit(visitId));
}

/** GET /api/visits/{id}: any signed-in caller may read a visit (pals browse them), account checked in the same read. */
export async function getVisitAs(caller: Caller, visitId: string): Promise<Visit> {
  return toVisit(await readVisitFor(caller, visitId));
}

function requireCancellable(visit: VisitItem, memberId: string): void {
  if (visit.memberId !== memberId)
    throw new Forbidden('Only the member who requested a visit can cancel it.');
  if (visit.status !== 'requested') throw new Conflict(`The visit is ${visit.status}, not requested.`);
}

/**
 * Moves a requested visit to canceled and releases its reservation, in one transaction whose visit
 * condition (status = requested, member = owner) makes the release happen at most once.
 * Returns false when the visit was no longer requested (completed or canceled meanwhile).
 */
export async function releaseReservation(visit: VisitItem, now = new Date()): Promise<boolean> {
  const db = visitsDb();
  const { visitId, memberId, minutes: m } = visit;
  return retryContention(async () => {
    const outcome = await db.transaction
      .write(({ visit: visits, user, listing: listings }) => [
        visits
          .patch({ visitId })
          .set({ status: 'canceled', canceledAt: now.toISOString() })
          .composite({ memberId, date: visit.date })
          .where(
            ({ status, memberId: owner }, { eq }) => `${eq(status, 'requested')} AND ${eq(owner, memberId)}`,
          )
          .commit(),
        user
          .patch({ userId: memberId })
          .subtract({ reserved: m })
          .add({ available: m })
          .where(({ reserved }, { gte }) => gte(reserved, m))
          .commit(),
        listings.delete(listingKey('requested', visit)).commit(),
        listings.put(listing('canceled', visit)).commit(),
      ])
      .go();
    const codes = transactionCodes(outcome);
    if (!codes) {
      metrics.count(VisitsMetric.cancelled);
      return true;
    }
    if (codes[0] === 'ConditionalCheckFailed') return false;
    // A requested visit always holds its reservation; only a vanished member account gets here.
    throw new Conflict('The visit can no longer be canceled.');
  }, CONTENTION);
}

export async function cancelVisit(caller: Caller, visitId: string, now = new Date()): Promise<Visit> {
  const memberId = idOf(caller);
  const visit = await readVisitFor(caller, visitId);
  requireCancellable(visit, memberId);
  if (!(await releaseReservation(visit, now))) {
    // Lost a race with a completion or another cancel: answer from what the visit is now.
    requireCancellable(await readVisit(visitId), memberId);
    throw new Conflict('The visit is no longer requested.');
  }
  return toVisit({ ...visit, status: 'canceled', canceledAt: now.toISOString() });
}

/**
 * The pal completes a visit in one transaction: visit requested → completed, member debited the full
 * minutes (balance and reservation), pal credited minutes less the fee, and the transaction recorded
 * once per visit plus one ledger copy for each party. The visit condition makes completion happen at
 * most once, whatever races it.
 */
export async function completeVisit(caller: Caller, visitId: string, now = new Date()): Promise<Completion> {
  const palId = idOf(caller);
  const visit = await readVisitFor(caller, visitId);
  if (visit.memberId === palId) throw new Forbidden('You cannot complete your own visit.');
  if (visit.status !== 'requested') throw new Conflict(`The visit is ${visit.status}, not requested.`);
  const m = visit.minutes;
  const split = palCredit(m);
  const record: TransactionItem = {
    transactionId: randomUUID(),
    visitId,
    memberId: visit.memberId,
    palId,
    minutes: m,
    palCredit: split.palCredit,
    fee: split.fee,
    createdAt: now.toISOString(),
  };
  const completedAt = now.toISOString();
  const db = visitsDb();
  await retryContention(async () => {
    const outcome = await db.transaction
      .write(({ visit: visits, user, transaction, ledger, listing: listings }) => [
        visits
          .patch({ visitId })
          .set({ status: 'completed', palId, completedAt })
          .composite({ memberId: visit.memberId, date: visit.date })
          .where(({ status }, { eq }) => eq(status, 'requested'))
          .commit(),
        user
          .patch({ userId: visit.memberId })
          .subtract({ minutes: m, reserved: m })
          .where(({ reserved }, { gte }) => gte(reserved, m))
          .commit(),
        user.patch({ userId: palId }).add({ minutes: split.palCredit, available: split.palCredit }).commit(),
        transaction.create(record).commit(),
        ledger.create({ ownerId: visit.memberId, role: 'member', ...record }).commit(),
        ledger.create({ ownerId: palId, role: 'pal', ...record }).commit(),
        listings.delete(listingKey('requested', visit)).commit(),
        listings.put(listing('completed', visit)).commit(),
      ])
      .go();
    const codes = transactionCodes(outcome);
    if (!codes) return;
    if (codes[0] === 'ConditionalCheckFailed' || codes[3] === 'ConditionalCheckFailed') {
      throw new Conflict('The visit is no longer requested.');
    }
    if (codes[2] === 'ConditionalCheckFailed') throw new NotAuthenticated();
    // The member's reservation is gone only if its account was deleted, which cancels the visit first.
    throw new Conflict('The visit can no longer be completed.');
  }, CONTENTION);
  metrics.count(VisitsMetric.completed);
  metrics.count(VisitsMetric.minutesMoved, {}, m);
  metrics.count(VisitsMetric.fees, {}, split.fee);

  const { users } = await readTogether({ users: [visit.memberId, palId] });
  const member = users.get(visit.memberId);
  const pal = users.get(palId);
  return {
    transaction: toTransaction(record),
    visit: toVisit({ ...visit, status: 'completed', palId, completedAt }),
    member: { id: visit.memberId, minutes: member?.minutes ?? 0 },
    pal: { id: palId, minutes: pal?.minutes ?? 0 },
  };
}

// ---- lists ----------------------------------------------------------------------------------------

const POSITION = /^(\d{4}-\d{2}-\d{2})\|([0-9a-f-]{36})$/;
const LEDGER_POSITION = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\|([0-9a-f-]{36})$/;

export interface VisitFilter {
  status?: VisitStatus | undefined;
  member_id?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * Every page across members (the pals' open visits above all) is the same for every reader asking the same
 * question the same day: each container keeps it this long, so the list's shards and the page's visits are
 * read about once a second per warm container and distinct page, whatever the request rate (README
 * "Open-visits index"). A visit completed meanwhile answers 409 to the pal who tries it, as it would a
 * moment later without the cache. A member's own lists are never kept.
 */
export const LIST_PAGE_CACHE_MS = 1000;
const sharedPages = new SharedPages<Page<Visit>>({ ttlMs: LIST_PAGE_CACHE_MS });

/**
 * Visits soonest first. With a member: one Query on the member's index (gsi2, or gsi3 with a status).
 * Without one: the listing entries of the status (all three statuses with no filter) are merged across
 * their {@link LIST_SHARDS} shards by the platform's sharded list, then the page's visits are read by id.
 * The requested list starts at today: past-dated requested visits are no longer offered to pals (they
 * stay on their member's own lists, to cancel). The cursor is the last (date, id) returned, so every page
 * starts strictly after it.
 */
export async function listVisits(filter: VisitFilter, now = new Date()): Promise<Page<Visit>> {
  const after = readPosition(filter.cursor, POSITION);
  if (filter.member_id) return listMemberVisits(filter, after);
  const key = [filter.status ?? '', utcDay(now), filter.limit, filter.cursor ?? ''].join('|');
  return sharedPages.get(key, () => listAcrossMembers(filter, after, now));
}

/** Drops the kept pages (tests that list right after writing). */
export function forgetListPages(): void {
  sharedPages.clear();
}

async function listMemberVisits(filter: VisitFilter, after: string[] | undefined): Promise<Page<Visit>> {
  const memberId = filter.member_id ?? '';
  const start = after ? { date: after[0] ?? '', visitId: after[1] ?? '' } : undefined;
  // `limit` alone is one DynamoDB page, cut short at 1 MB (large visits); `count` keeps reading to `take`.
  const take = filter.limit + 1;
  const q = visitsDb().entities.visit.query;
  const query = filter.status
    ? q.byMemberStatus({ memberId, status: filter.status })
    : q.byMember({ memberId });
  const { data: items } = await (start ? query.gt(start) : query).go({ limit: take, count: take });
  return pageOf(items, filter.limit);
}

type Entry = { date: string; visitId: string };
const entryOrder = (a: Entry, b: Entry) =>
  a.date < b.date ? -1 : a.date > b.date ? 1 : a.visitId < b.visitId ? -1 : a.visitId > b.visitId ? 1 : 0;

async function listAcrossMembers(
  filter: VisitFilter,
  after: string[] | undefined,
  now: Date,
): Promise<Page<Visit>> {
  const take = filter.limit + 1;
  const listings = visitsDb().entities.listing.query;
  const today = utcDay(now);
  const shards = (filter.status ? [filter.status] : VISIT_STATUSES).flatMap((status) =>
    Array.from({ length: LIST_SHARDS }, (_, shard) => async (): Promise<Entry[]> => {
      const base = listings.byStatus({ status, shard });
      // Requested visits list from today on (or after the cursor, when that is later).
      const floor = status === 'requested' && (!after || (after[0] ?? '') < today) ? today : undefined;
      const query = floor
        ? base.gte({ date: floor })
        : after
          ? base.gt({ date: after[0] ?? '', visitId: after[1] ?? '' })
          : base;
      const { data } = await query.go({ limit: take, count: take, attributes: ['date', 'visitId'] });
      return data;
    }),
  );
  const { items: entries, more } = await mergeShards(shards, entryOrder, filter.limit);
  const visits = await visitsById(entries.map((e) => e.visitId));
  const items = entries.flatMap((e) => visits.get(e.visitId) ?? []);
  const page = pageOf(items, filter.limit);
  if (more && page.next_cursor === null && items.length > 0) {
    const last = items[items.length - 1];
    if (last) page.next_cursor = encodeCursor(`${last.date}|${last.visitId}`);
  }
  return page;
}

/**
 * The visits of a page, by id, in one BatchGetItem (at most 100 keys), eventually consistent: half the read
 * capacity of the first page's visits, which every pal's list reads, and no staler than the entries the list
 * just read (a base-table Query, eventually consistent too). Keys DynamoDB leaves unprocessed (throttling)
 * are asked again with a short backoff, then 503.
 */
async function visitsById(ids: string[]): Promise<Map<string, VisitItem>> {
  const visits = await readAllKeys(
    ids.map((visitId) => ({ visitId })),
    async (keys) => {
      const { data, unprocessed } = await visitsDb().entities.visit.get(keys).go();
      return { items: data, unprocessed: unprocessed.map((k) => ({ visitId: k.visitId })) };
    },
  );
  return new Map(visits.map((v) => [v.visitId, v]));
}

/** Up to `limit` visits within a Lambda response, with the cursor after the last one when more follow. */
function pageOf(items: VisitItem[], limit: number): Page<Visit> {
  const visits = takeWithinBytes(items.slice(0, limit).map(toVisit));
  const last = items[visits.length - 1];
  return {
    data: visits,
    next_cursor: items.length > visits.length && last ? encodeCursor(`${last.date}|${last.visitId}`) : null,
  };
}

/** The caller's transactions as member or pal, newest first: one Query on the caller's ledger. */
export async function listTransactions(
  userId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<Transaction>> {
  const before = readPosition(page.cursor, LEDGER_POSITION);
  const query = visitsDb().entities.ledger.query.byOwner({ ownerId: userId });
  const { data } = await (before ? query.lt({ createdAt: before[0], transactionId: before[1] }) : query).go({
    order: 'desc',
    limit: page.limit + 1,
    count: page.limit + 1,
  });
  const items = data.slice(0, page.limit);
  const last = items.at(-1);
  return {
    data: items.map(toTransaction),
    next_cursor:
      data.length > page.limit && last ? encodeCursor(`${last.createdAt}|${last.transactionId}`) : null,
  };
}
