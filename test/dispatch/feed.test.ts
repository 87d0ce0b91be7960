// The all-messages list over the write-sharded feed (SPEC §5 newest first, §0 exact cursors, §8 no constant
// partition), against DynamoDB Local: order and cursors exact across shards, equal timestamps, messages
// still on the old layout (gsi2 `all`) merged until the backfill moves them, and no duplicates meanwhile.
import { randomUUID } from 'node:crypto';
import { dispatchDb, FEED_SHARDS, feedShard } from '@svc/dispatch/entities';
import { addToFeed } from '@svc/dispatch/feed';
import { backfillFeed } from '@svc/dispatch/feed-backfill';
import { listMessages, submitMessage } from '@svc/dispatch/messages';
import { encodeCursor } from '@svc/platform';
import { describe, expect, it } from 'vitest';
import { memoryQueue, uniqueNumber } from './support.js';

/** A far-future day of its own per test, so this file's messages are the newest in the shared table. */
const day = () => {
  const d = new Date(
    Date.UTC(2900 + Math.floor(Math.random() * 90), 0, 1) + Math.floor(Math.random() * 360) * 86_400_000,
  );
  return d.toISOString().slice(0, 10);
};
/** A cursor just after everything of `d` (a position later than any message that day). */
const after = (d: string) => encodeCursor(`${d}T23:59:59.999Z|ffffffff-ffff-4fff-bfff-ffffffffffff`) ?? '';

async function pages(cursor: string, limit: number, count: number) {
  const seen: { id: string; created_at: string }[] = [];
  let next: string | null = cursor;
  while (next && seen.length < count) {
    const page = await listMessages({ limit, cursor: next });
    expect(page.data.length).toBeLessThanOrEqual(limit);
    seen.push(...page.data);
    next = page.next_cursor;
  }
  return seen.slice(0, count);
}

const newestFirst = (xs: { id: string; createdAt: string }[]) =>
  [...xs].sort((a, b) =>
    a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
  );

describe('all-messages feed', () => {
  it('spreads messages over the shards and lists them newest first, exactly, at any page size', async () => {
    const d = day();
    const mine: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 30; i++) {
      // Every third one shares its timestamp with the one before: the id breaks the tie.
      const at =
        new Date(`${d}T10:00:00.000Z`).getTime() + Math.floor(i / 3) * 1000 + (i % 3 === 2 ? 0 : i % 3);
      const m = await submitMessage(
        { to_number: uniqueNumber(), message: `feed ${i}` },
        { queue: memoryQueue(), now: new Date(at) },
      );
      mine.push({ id: m.id, createdAt: m.created_at });
    }
    expect(new Set(mine.map((m) => feedShard(m.id))).size).toBeGreaterThan(FEED_SHARDS / 2);
    const expected = newestFirst(mine).map((m) => m.id);
    for (const limit of [3, 7, 100]) {
      const listed = await pages(after(d), limit, mine.length);
      expect(listed.map((m) => m.id)).toEqual(expected);
    }
    // The page carries the current status from the message item (the feed entry never changes).
    const page = await listMessages({ limit: 1, cursor: after(d) });
    expect(page.data[0]).toMatchObject({ id: expected[0], status: 'queued' });
    // A new message is on no all-messages index: its status changes never write there.
    const raw = (
      await dispatchDb()
        .entities.message.get({ id: expected[0] ?? '' })
        .go({ data: 'raw' })
    ).data as unknown as { Item?: Record<string, unknown> };
    expect(raw.Item?.gsi1pk).toBeDefined();
    expect(raw.Item?.gsi2pk).toBeUndefined();
  }, 120_000);

  it('passes over a feed entry whose message was never written, and still fills the page', async () => {
    const d = day();
    const real = await submitMessage(
      { to_number: uniqueNumber(), message: 'real' },
      { queue: memoryQueue(), now: new Date(`${d}T08:00:00.000Z`) },
    );
    await addToFeed(randomUUID(), `${d}T09:00:00.000Z`); // its message write "failed"
    const page = await listMessages({ limit: 1, cursor: after(d) });
    expect(page.data.map((m) => m.id)).toEqual([real.id]);
  });

  it('merges messages still on the old layout until the backfill moves them, never twice', async () => {
    const d = day();
    const messages = dispatchDb().entities.message;
    const legacy: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const id = randomUUID();
      const createdAt = `${d}T12:00:0${i}.000Z`;
      // The old layout: on gsi2's constant partition, no feed entry.
      await messages
        .create({
          id,
          toNumber: uniqueNumber(),
          message: 'old',
          segments: 1,
          encoding: 'GSM-7',
          createdAt,
          updatedAt: createdAt,
          status: 'sent',
          history: [{ status: 'queued', at: createdAt }],
          feed: 'all',
        })
        .go();
      legacy.push({ id, createdAt });
    }
    const fresh: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const m = await submitMessage(
        { to_number: uniqueNumber(), message: 'new' },
        { queue: memoryQueue(), now: new Date(`${d}T12:00:0${i}.500Z`) },
      );
      fresh.push({ id: m.id, createdAt: m.created_at });
    }
    const expected = newestFirst([...legacy, ...fresh]).map((m) => m.id);
    expect((await pages(after(d), 5, 12)).map((m) => m.id)).toEqual(expected);

    // Half-way through a backfill: one message on both layouts is listed once.
    await addToFeed(legacy[0]?.id ?? '', legacy[0]?.createdAt ?? '');
    expect((await pages(after(d), 4, 12)).map((m) => m.id)).toEqual(expected);

    expect(await backfillFeed({ pageSize: 4 })).toBeGreaterThanOrEqual(6);
    const left = await messages.query.legacyRecent({ feed: 'all' }).go({ limit: 1 });
    expect(left.data).toEqual([]);
    expect((await pages(after(d), 5, 12)).map((m) => m.id)).toEqual(expected);
    expect(await backfillFeed()).toBe(0); // a second run finds nothing
  });
});
