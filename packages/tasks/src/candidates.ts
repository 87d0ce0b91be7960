import { createHash } from 'node:crypto';
import { isConditionFailure } from '@svc/platform';
import { ACTIVITY_BUCKET_MS, CANDIDATE_SHARDS, tasksDb } from './entities.js';

/**
 * Who a report window has to look at (SPEC §8: the users with open tasks or activity in the window, never
 * every user ever), kept in two sharded sets the planner's shard jobs read in user id order:
 * - activity: (15-minute bucket, shard) partitions of the users who changed something, written by the
 *   webhook; a window reads the buckets it overlaps (plus a grace period for in-flight requests);
 * - open users: one shard partition per shard of the users who may have open tasks, put by the webhook
 *   when it leaves a task open and by each report that finds open tasks, removed by a report that finds
 *   none. Both may hold more users than needed; the report worker decides exactly.
 */

/** Activity this long before a window's start still makes a user a candidate (requests in flight). */
export const ACTIVITY_GRACE_MS = 5 * 60_000;
/** Activity markers outlive their bucket by this long: a shard job redriven from a DLQ still finds them. */
const ACTIVITY_TTL_SECONDS = 15 * 86_400;

export function shardOf(userId: string, shards = CANDIDATE_SHARDS): string {
  return String(createHash('sha256').update(userId).digest().readUInt32BE(0) % shards);
}

export const bucketOf = (ms: number) => new Date(ms - (ms % ACTIVITY_BUCKET_MS)).toISOString();

/** The activity buckets a window (start, end] reads, oldest first. */
export function bucketsFor(start: string, end: string): string[] {
  const from = Date.parse(start) - ACTIVITY_GRACE_MS;
  const to = Date.parse(end);
  const out: string[] = [];
  for (let t = from - (from % ACTIVITY_BUCKET_MS); t <= to; t += ACTIVITY_BUCKET_MS) {
    out.push(new Date(t).toISOString());
  }
  return out;
}

/**
 * What this container already wrote: a user's burst (a bulk import) costs one write per bucket per
 * container instead of one per event. Bounded; cleared when full.
 */
const written = new Set<string>();
const WRITTEN_MAX = 50_000;
const remember = (key: string) => {
  if (written.size >= WRITTEN_MAX) written.clear();
  written.add(key);
};

/** Forget what this container wrote (tests that count writes). */
export function resetMemo() {
  written.clear();
}

/**
 * Marks `userId` as a candidate of the windows that overlap `now`. An idempotent put: repeats and
 * concurrent calls for the same user never conflict.
 */
export async function markActivity(userId: string, now: Date) {
  const bucket = bucketOf(now.getTime());
  const memo = `a|${bucket}|${userId}`;
  if (written.has(memo)) return;
  const expiresAt = Math.floor(Date.parse(bucket) / 1000) + ACTIVITY_TTL_SECONDS;
  await tasksDb()
    .entities.activity.put({ activityBucket: bucket, activityShard: shardOf(userId), userId, expiresAt })
    .go({ response: 'none' });
  remember(memo);
}

/**
 * Puts `userId` in the open set. Rewritten at most once per bucket per container: its asOf only has
 * to be newer than the windows that have already ended, and the activity marker covers the current one.
 */
export async function markOpen(userId: string, now: Date) {
  const memo = `o|${bucketOf(now.getTime())}|${userId}`;
  if (written.has(memo)) return;
  await tasksDb()
    .entities.openUser.put({ openShard: shardOf(userId), userId, asOf: now.toISOString() })
    .go({ response: 'none' });
  remember(memo);
}

/**
 * After a report of the window ending at `asOf`: keep the user in the open set when it found open
 * tasks, remove it when it found none. A write from an older window never undoes a newer one.
 */
export async function settleOpen(userId: string, asOf: string, open: boolean) {
  const openUser = tasksDb().entities.openUser;
  const key = { openShard: shardOf(userId), userId };
  try {
    if (open) {
      await openUser
        .put({ ...key, asOf })
        .where((a, op) => `${op.notExists(a.asOf)} OR ${op.lte(a.asOf, asOf)}`)
        .go({ response: 'none' });
    } else {
      await openUser
        .delete(key)
        .where((a, op) => op.lte(a.asOf, asOf))
        .go({ response: 'none' });
    }
  } catch (error) {
    // Newer news about this user (or nothing to delete): leave it as it is.
    if (!isConditionFailure(error)) throw error;
  }
}

/** One sorted stream of user ids (one partition), read a page at a time. */
interface Stream {
  buffer: string[];
  cursor: string | null;
  done: boolean;
  fetch: (cursor: string | null) => Promise<{ data: { userId: string }[]; cursor: string | null }>;
}

const PAGE = 500;

export interface CandidateReader {
  /** The next up to `n` candidate user ids after the last returned one, ascending, each once. */
  next(n: number): Promise<string[]>;
  /** DynamoDB requests made so far (pages read). */
  readonly requests: number;
}

/**
 * The candidates of one shard for the window (start, end], in ascending user id order, strictly after
 * `after` (a checkpoint): a k-way merge of the open set and the window's activity buckets, so a user in
 * several is returned once, and resuming from a checkpoint is exact. Reads grow with the candidates.
 */
export function candidateReader(shard: string, window: { start: string; end: string }, after?: string) {
  const db = tasksDb().entities;
  const from = after ? { userId: after } : undefined;
  const streams: Stream[] = [];
  const stream = (fetch: Stream['fetch']) => streams.push({ buffer: [], cursor: null, done: false, fetch });
  stream((cursor) => {
    const q = db.openUser.query.byShard({ openShard: shard });
    return (from ? q.gt(from) : q).go({ cursor, limit: PAGE, pages: 1, attributes: ['userId'] });
  });
  for (const bucket of bucketsFor(window.start, window.end)) {
    stream((cursor) => {
      const q = db.activity.query.byBucket({ activityBucket: bucket, activityShard: shard });
      return (from ? q.gt(from) : q).go({ cursor, limit: PAGE, pages: 1, attributes: ['userId'] });
    });
  }
  let requests = 0;
  let last = after;
  const fill = async (s: Stream) => {
    while (s.buffer.length === 0 && !s.done) {
      const page = await s.fetch(s.cursor);
      requests++;
      s.buffer = page.data.map((d) => d.userId);
      s.cursor = page.cursor;
      if (!page.cursor) s.done = true;
    }
  };
  const reader: CandidateReader = {
    get requests() {
      return requests;
    },
    async next(n) {
      const out: string[] = [];
      while (out.length < n) {
        await Promise.all(streams.map(fill));
        let min: string | undefined;
        for (const s of streams) {
          const head = s.buffer[0];
          if (head !== undefined && (min === undefined || head < min)) min = head;
        }
        if (min === undefined) break;
        for (const s of streams) if (s.buffer[0] === min) s.buffer.shift();
        if (last === undefined || min > last) {
          out.push(min);
          last = min;
        }
      }
      return out;
    },
  };
  return reader;
}
