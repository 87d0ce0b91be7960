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
