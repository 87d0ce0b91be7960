import { describe, expect, it } from 'vitest';
import { LazyShardMerge, mergeShards, type OrderedSource, SharedPages } from './sharded.js';

/** An in-memory shard (ascending numbers), counting what it is asked for. */
const shard = (values: number[]) => {
  const reads: number[] = [];
  const source: OrderedSource<number> = {
    async read(after, count) {
      reads.push(count);
      return values.filter((v) => after === undefined || v > after).slice(0, count);
    },
  };
  return { source, reads };
};
const ascending = (a: number, b: number) => a < b;

describe('LazyShardMerge', () => {
  it('gives the whole list in order across shards, and continues exactly from any position', async () => {
    const values = Array.from({ length: 60 }, (_, i) => i * 7 + 3);
    const split = (start: number | undefined) =>
      new LazyShardMerge(
        [0, 1, 2, 3].map((s) => shard(values.filter((v) => v % 4 === s)).source),
        start,
        3,
        ascending,
      );
    const all: number[] = [];
    const merge = split(undefined);
    for (let v = await merge.next(); v !== undefined; v = await merge.next()) all.push(v);
    expect(all).toEqual(values);
    const resumed: number[] = [];
    const from = split(values[20]);
    for (let i = 0; i < 5; i++) resumed.push((await from.next()) as number);
    expect(resumed).toEqual(values.slice(21, 26));
  });

  it('asks each shard for its chunk, and for more only when the merge reaches its end', async () => {
    const a = shard([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = shard([100, 200]);
    const merge = new LazyShardMerge([a.source, b.source], undefined, 3, ascending);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await merge.next());
    expect(got).toEqual([1, 2, 3, 4]);
    expect(a.reads).toEqual([3, 3]); // 1-3, then 4-6 once 1-3 were taken
    expect(b.reads).toEqual([3]); // fewer than asked: known done, never read again
  });
});

describe('mergeShards', () => {
  it('takes the first limit of the union, and says whether more follow', async () => {
    const page = await mergeShards([async () => [1, 4], async () => [2, 3]], (x, y) => x - y, 3);
    expect(page).toEqual({ items: [1, 2, 3], more: true });
  });
});

describe('SharedPages', () => {
  const setup = (maxEntries?: number) => {
    let clock = 0;
    const loads: string[] = [];
    const pages = new SharedPages<string>({
      ttlMs: 1000,
      now: () => clock,
      ...(maxEntries ? { maxEntries } : {}),
    });
    const read = (key: string) =>
      pages.get(key, async () => {
        loads.push(key);
        return `${key}@${clock}`;
      });
    return { pages, read, loads, tick: (ms: number) => (clock += ms) };
  };

  it('serves a page from memory until it is ttlMs old, then loads it again', async () => {
    const { read, loads, tick } = setup();
    expect(await read('a')).toBe('a@0');
    tick(999);
    expect(await read('a')).toBe('a@0');
    tick(1);
    expect(await read('a')).toBe('a@1000');
    expect(loads).toEqual(['a', 'a']);
  });

  it('forgets a load that failed, so the next reader tries again', async () => {
    const pages = new SharedPages<string>({ ttlMs: 1000 });
    await expect(pages.get('a', async () => Promise.reject(new Error('throttled')))).rejects.toThrow();
    expect(await pages.get('a', async () => 'fresh')).toBe('fresh');
  });

  it('keeps at most maxEntries pages, dropping the oldest: distinct cursors cannot grow it', async () => {
    const { read, loads } = setup(3);
    for (const key of ['a', 'b', 'c', 'd']) await read(key);
    await read('d');
    await read('b');
    expect(loads).toEqual(['a', 'b', 'c', 'd']);
    await read('a');
    expect(loads).toEqual(['a', 'b', 'c', 'd', 'a']);
  });
});
