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
