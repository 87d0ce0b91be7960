/**
 * A global list kept in several partitions (shards) so no single key value takes every write
 * (SPEC §8), read back as one list: each shard is asked for its first `limit + 1` items after the
 * caller's position, and the union is merged. The first `limit + 1` of the union are exactly the first
 * `limit + 1` of the whole list, so the next position (the last item returned) is an exact cursor.
 */
export async function mergeShards<T>(
  shards: readonly (() => Promise<readonly T[]>)[],
  /** The list order: negative when `a` comes first. */
  compare: (a: T, b: T) => number,
  limit: number,
): Promise<{ items: T[]; more: boolean }> {
  const pages = await Promise.all(shards.map((read) => read()));
  const merged = pages.flat().sort(compare);
  return { items: merged.slice(0, limit), more: merged.length > limit };
}

/** One ordered source of a sharded list: up to `count` positions after `after` (from the start without). */
export interface OrderedSource<P> {
  read(after: P | undefined, count: number): Promise<P[]>;
}

/**
 * A sharded list merged lazily: where `mergeShards` asks every shard for a whole page, this asks each source
 * for `chunk` positions (about its share of a page) and for more only when the merge reaches the end of what
 * that source gave. A position is given only once every source's next position is known, so nothing is
 * skipped or out of order, and the last position given is an exact cursor. `next()` can be called for as long
 * as the caller needs more (it passes over what it cannot use, e.g. an entry whose item is gone).
 */
export class LazyShardMerge<P> {
  private readonly cursors: {
    source: OrderedSource<P>;
    buffer: P[];
    last: P | undefined;
    done: boolean;
  }[];

  constructor(
    sources: readonly OrderedSource<P>[],
    start: P | undefined,
    private readonly chunk: number,
    /** The list order: true when `a` comes before `b`. */
    private readonly before: (a: P, b: P) => boolean,
  ) {
    this.cursors = sources.map((source) => ({ source, buffer: [], last: start, done: false }));
  }

  /** The next position of the whole list, or undefined at its end. */
  async next(): Promise<P | undefined> {
    const heads = await Promise.all(
      this.cursors.map(async (c) => {
        if (c.buffer.length === 0 && !c.done) {
          const read = await c.source.read(c.last, this.chunk);
          if (read.length < this.chunk) c.done = true;
          c.buffer = read;
          c.last = read.at(-1) ?? c.last;
        }
        return c.buffer[0];
      }),
    );
    let best = -1;
    heads.forEach((h, i) => {
      const current = best >= 0 ? heads[best] : undefined;
      if (h !== undefined && (current === undefined || this.before(h, current))) best = i;
    });
    if (best < 0) return undefined;
    return this.cursors[best]?.buffer.shift();
  }
}

/**
 * The pages of a global list that every reader shares (the pals' open visits, every message), kept per
 * container for `ttlMs` from when a reader first asked: each shard is then read about once per `ttlMs` per
 * warm container and distinct page, whatever the request rate (SPEC §8: a merged read touches every shard,
 * ≥ 0.5 RCU each, so uncached no layout takes one shard key past ~6,000 lists/s). The cost is a page up to
 * `ttlMs` old. A load that fails is forgotten at once, so the next reader tries again. At most
 * `maxEntries` pages are kept (the oldest go first): a Lambda container serves one request at a time, so a
 * second's pages are few, and callers varying the cursor cannot grow its memory.
 */
export class SharedPages<V> {
  private readonly pages = new Map<string, { at: number; page: Promise<V> }>();

  constructor(private readonly options: { ttlMs: number; maxEntries?: number; now?: () => number }) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = (this.options.now ?? Date.now)();
    const kept = this.pages.get(key);
    if (kept && now - kept.at < this.options.ttlMs) return kept.page;
    this.pages.delete(key);
    // Oldest first (a page is re-inserted when renewed): drop the expired ones, then any over the cap.
    for (const [k, p] of this.pages) {
      if (now - p.at < this.options.ttlMs) break;
      this.pages.delete(k);
    }
    for (const k of this.pages.keys()) {
      if (this.pages.size < (this.options.maxEntries ?? 32)) break;
      this.pages.delete(k);
    }
    const page = load();
    this.pages.set(key, { at: now, page });
    page.catch(() => {
      if (this.pages.get(key)?.page === page) this.pages.delete(key);
    });
    return page;
  }

  /** Forgets every page (tests that list right after writing). */
  clear(): void {
    this.pages.clear();
  }
}
