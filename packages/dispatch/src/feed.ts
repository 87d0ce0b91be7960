import { LazyShardMerge, type OrderedSource, readAllKeys } from '@svc/platform';
import { dispatchDb, FEED_SHARDS, feedShard, type MessageItem } from './entities.js';

/** A place in the newest-first order of every message: `createdAt`, then `id`. */
export interface FeedPosition {
  createdAt: string;
  id: string;
}

const newer = (a: FeedPosition, b: FeedPosition) =>
  a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);

/** Puts a message on its feed shard: once, before the message item itself is written. */
export async function addToFeed(id: string, createdAt: string): Promise<void> {
  await dispatchDb()
    .entities.feed.put({ shard: feedShard(id), createdAt, id })
    .go();
}

/** One feed shard, newest first. */
function shardSource(shard: number): OrderedSource<FeedPosition> {
  return {
    async read(before, count) {
      const base = dispatchDb().entities.feed.query.byShard({ shard });
      const { data } = await (before ? base.lt(before) : base).go({ order: 'desc', limit: count, count });
      return data.map((f) => ({ createdAt: f.createdAt, id: f.id }));
    },
  };
}

/** Messages stored before the feed shards, still on gsi2 until the backfill moves them. */
const legacySource: OrderedSource<FeedPosition> = {
  async read(before, count) {
    const base = dispatchDb().entities.message.query.legacyRecent({ feed: 'all' });
    const { data } = await (before ? base.lt(before) : base).go({
      order: 'desc',
      limit: count,
      count,
      attributes: ['createdAt', 'id'],
    });
    return data.map((m) => ({ createdAt: m.createdAt, id: m.id }));
  },
};

async function messagesById(ids: string[]): Promise<Map<string, MessageItem>> {
  const messages = await readAllKeys(
    ids.map((id) => ({ id })),
    async (keys) => {
      const { data, unprocessed } = await dispatchDb().entities.message.get(keys).go();
      return { items: data, unprocessed: unprocessed.map((k) => ({ id: k.id })) };
    },
  );
  return new Map(messages.map((m) => [m.id, m]));
}

/**
 * Up to `count` messages older than `before`, newest first, merged exactly across every feed shard and the
 * legacy index: a position is only taken once every source's next position is known, so nothing is skipped
 * and nothing is out of order, and the cursor (the last position returned) continues exactly. Each shard is
 * first asked for about its share of the page, and for more only when the merge reaches its end. A feed
 * entry whose message does not exist (its write failed after the entry's) is passed over.
 */
export async function feedPage(before: FeedPosition | undefined, count: number): Promise<MessageItem[]> {
  const chunk = Math.min(100, Math.ceil(count / FEED_SHARDS) + 2);
  const merge = new LazyShardMerge(
    [...Array.from({ length: FEED_SHARDS }, (_, shard) => shardSource(shard)), legacySource],
    before,
    chunk,
    newer,
  );
  const out: MessageItem[] = [];
  const seen = new Set<string>();
  let exhausted = false;
  while (out.length < count && !exhausted) {
    const wanted: FeedPosition[] = [];
    while (wanted.length < count - out.length) {
      const chosen = await merge.next();
      if (!chosen) {
        exhausted = true;
        break;
      }
      if (seen.has(chosen.id)) continue; // on both layouts while the backfill runs
      seen.add(chosen.id);
      wanted.push(chosen);
    }
    if (wanted.length === 0) break;
    const found = await messagesById(wanted.map((w) => w.id));
    for (const w of wanted) {
      const m = found.get(w.id);
      if (m) out.push(m);
    }
  }
  return out;
}

export { feedShard };
