// The open-visits index (packages/visits/README.md "Open-visits index") against DynamoDB Local: a visit's
// listing entry exists exactly while it has its status, on one of LIST_SHARDS shards, without the visit's
// tasks; the pals' list merges the shards exactly and in order, starts at today, and caches its pages.
import { dynamo, encodeCursor } from '@svc/platform';
import { Visits } from '@svc/visits';
import { LIST_SHARDS, listShard, visitsDb } from '@svc/visits/entities';
import { beforeEach, describe, expect, it } from 'vitest';
import { futureDate, newUser, visitInput } from './support/accounts.js';

type Status = 'requested' | 'completed' | 'canceled';

/** The raw listing item of a visit under a status, as stored (undefined when absent). */
async function entry(status: Status, visit: { id: string; date: string }) {
  const { Key } = visitsDb()
    .entities.listing.get({ status, shard: listShard(visit.id), date: visit.date, visitId: visit.id })
    .params() as { Key: Record<string, unknown> };
  const { client, table } = dynamo();
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  return (await client.send(new GetCommand({ TableName: table, Key, ConsistentRead: true }))).Item;
}

/** Every page of a list, following next_cursor. */
async function everyPage(filter: { status?: Status; limit: number }, now?: Date) {
  const seen: { id: string; date: string; status: string; member_id: string }[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await Visits.listVisits({ ...filter, cursor }, now);
    expect(page.data.length).toBeLessThanOrEqual(filter.limit);
    seen.push(...page.data);
    cursor = page.next_cursor ?? undefined;
    pages++;
  } while (cursor && pages < 500);
  return seen;
}

const ordered = (list: { id: string; date: string }[]) =>
  [...list].sort((a, b) => (a.date === b.date ? (a.id < b.id ? -1 : 1) : a.date < b.date ? -1 : 1));

beforeEach(() => Visits.forgetListPages());

describe('open-visits index (DynamoDB Local)', () => {
  it('keeps one small entry per visit under its status, moved in the same transaction as the status', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const big = {
      ...visitInput(5),
      tasks: [{ name: 'long', description: 'x'.repeat(2000) }],
    };
    const a = await Visits.requestVisit(member.id, big);
    const b = await Visits.requestVisit(member.id, visitInput(5));
    const requested = await entry('requested', a);
    expect(requested).toMatchObject({ pk: `$visits#status_requested#shard_${listShard(a.id)}` });
    // The tasks stay on the visit: the entry is a few hundred bytes whatever the visit carries.
    expect(requested?.tasks).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(requested))).toBeLessThan(400);
    expect(requested?.expiresAt).toBe(Date.parse(`${a.date}T00:00:00Z`) / 1000 + 3 * 86_400);

    await Visits.completeVisit(pal.id, a.id);
    await Visits.cancelVisit(member.id, b.id);
    expect(await entry('requested', a)).toBeUndefined();
    expect(await entry('completed', a)).toMatchObject({ visitId: a.id });
    expect((await entry('completed', a))?.expiresAt).toBeUndefined();
    expect(await entry('requested', b)).toBeUndefined();
    expect(await entry('canceled', b)).toMatchObject({ visitId: b.id });

    // A refused completion (already canceled) moves nothing.
    await expect(Visits.completeVisit(pal.id, b.id)).rejects.toMatchObject({ kind: 'conflict' });
    expect(await entry('completed', b)).toBeUndefined();
  });

  it('writes no entry when the request is refused (budget)', async () => {
    const member = await newUser(10);
    const date = futureDate(7);
    await expect(Visits.requestVisit(member.id, visitInput(11, date))).rejects.toMatchObject({
      kind: 'validation',
    });
    const listed = await everyPage({ status: 'requested', limit: 100 });
    expect(listed.filter((v) => v.member_id === member.id)).toEqual([]);
  });

  it('merges the shards exactly and in order, every visit once, under any page size', async () => {
    const members = await Promise.all(Array.from({ length: 4 }, () => newUser(1000)));
    const mine = [];
    for (let i = 0; i < 40; i++) {
      const member = members[i % members.length];
      mine.push(await Visits.requestVisit(member?.id ?? '', visitInput(1, futureDate(200 + (i % 5)))));
    }
    expect(new Set(mine.map((v) => listShard(v.id))).size).toBeGreaterThan(LIST_SHARDS / 3);
    const ids = new Set(mine.map((v) => v.id));
    for (const limit of [1, 7, 100]) {
      const seen = await everyPage({ status: 'requested', limit });
      expect(new Set(seen.map((v) => v.id)).size).toBe(seen.length);
      expect(seen).toEqual(ordered(seen));
      expect(seen.every((v) => v.status === 'requested')).toBe(true);
      expect(seen.filter((v) => ids.has(v.id)).map((v) => v.id)).toEqual(ordered(mine).map((v) => v.id));
    }
    // Without a filter: the three statuses merged, each visit once, in order.
    const all = await everyPage({ limit: 9 });
    expect(new Set(all.map((v) => v.id)).size).toBe(all.length);
    expect(all).toEqual(ordered(all));
    expect(all.filter((v) => ids.has(v.id)).length).toBe(mine.length);
  });

  it("drops past-dated requested visits from the pals' list, not from their member's", async () => {
    const member = await newUser();
    const visit = await Visits.requestVisit(member.id, visitInput(5, futureDate(3)));
    const ids = (list: { id: string }[]) => list.map((v) => v.id);
    expect(ids(await everyPage({ status: 'requested', limit: 100 }))).toContain(visit.id);
    // Four days later the visit's date has passed: no pal is offered it any more...
    const later = new Date(Date.now() + 4 * 86_400_000);
    expect(ids(await everyPage({ status: 'requested', limit: 100 }, later))).not.toContain(visit.id);
    // ...even from a cursor taken before midnight...
    const before = await Visits.listVisits({ status: 'requested', limit: 1 });
    if (before.next_cursor) {
      const after = await Visits.listVisits(
        { status: 'requested', limit: 100, cursor: before.next_cursor },
        later,
      );
      expect(ids(after.data)).not.toContain(visit.id);
      expect(after.data.every((v) => v.date >= later.toISOString().slice(0, 10))).toBe(true);
    }
    // ...while the member still sees it and can cancel it, which releases the reservation.
    const own = await Visits.listVisits({ member_id: member.id, status: 'requested', limit: 10 });
    expect(ids(own.data)).toEqual([visit.id]);
    await Visits.cancelVisit(member.id, visit.id);
  });

  it("caps a visit's tasks at MAX_TASK_BYTES (422 errors.tasks), nothing stored", async () => {
    const member = await newUser();
    const at = (bytes: number) => ({
      date: futureDate(9),
      minutes: 1,
      tasks: [
        { name: 'a', description: 'x'.repeat(bytes - 2) },
        { name: 'b', description: '' },
      ],
    });
    await expect(Visits.requestVisit(member.id, at(Visits.MAX_TASK_BYTES))).resolves.toMatchObject({
      status: 'requested',
    });
    await expect(Visits.requestVisit(member.id, at(Visits.MAX_TASK_BYTES + 1))).rejects.toMatchObject({
      kind: 'validation',
      fields: { tasks: [expect.stringContaining(`${Visits.MAX_TASK_BYTES} bytes`)] },
    });
    const own = await Visits.listVisits({ member_id: member.id, limit: 10 });
    expect(own.data).toHaveLength(1);
  });

  it("serves the pals' first page from the container for LIST_PAGE_CACHE_MS", async () => {
    const member = await newUser();
    await Visits.requestVisit(member.id, visitInput(1, futureDate(0)));
    const first = await Visits.listVisits({ status: 'requested', limit: 3 });
    const today = await Visits.requestVisit(member.id, visitInput(1, futureDate(0)));
    // Within the cache's life the same page, then the new visit once it expired.
    expect(await Visits.listVisits({ status: 'requested', limit: 3 })).toEqual(first);
    await new Promise((r) => setTimeout(r, Visits.LIST_PAGE_CACHE_MS + 50));
    const fresh = await everyPage({ status: 'requested', limit: 3 });
    expect(fresh.map((v) => v.id)).toContain(today.id);
  });

  it("serves a page after a cursor the same way, and never a member's own list", async () => {
    const member = await newUser();
    const date = futureDate(700);
    const mine = await Promise.all([1, 2, 3].map(() => Visits.requestVisit(member.id, visitInput(1, date))));
    const [a, b] = ordered(mine);
    // A cursor just before that day: the page after it starts with this member's visits.
    const cursor = encodeCursor(`${futureDate(699)}|ffffffff-ffff-ffff-ffff-ffffffffffff`) ?? '';
    const page = () => Visits.listVisits({ status: 'requested', limit: 2, cursor });
    const ids = async (p: Promise<{ data: { id: string }[] }>) => (await p).data.map((v) => v.id);
    expect(await ids(page())).toEqual([a?.id, b?.id]);
    await Visits.cancelVisit(member.id, a?.id ?? '');
    // The member's own list at once; the shared page within the cache's life still as it was...
    expect(
      await ids(Visits.listVisits({ member_id: member.id, status: 'requested', limit: 10 })),
    ).not.toContain(a?.id);
    expect(await ids(page())).toEqual([a?.id, b?.id]);
    // ...and without the canceled visit once it expired.
    await new Promise((r) => setTimeout(r, Visits.LIST_PAGE_CACHE_MS + 50));
    expect(await ids(page())).not.toContain(a?.id);
  });
});

describe('migration from the per-status gsi1 partitions (infra/bin/backfill-visits-listings.ts)', () => {
  /** Puts a visit back into the old layout: on gsi1 under its status partition, without a listing entry. */
  async function makeLegacy(visit: { id: string; date: string }, status: Status, partition: Status = status) {
    const { client, table } = dynamo();
    const { UpdateCommand, DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    const db = visitsDb();
    const { Key } = db.entities.visit.get({ visitId: visit.id }).params() as { Key: Record<string, unknown> };
    await client.send(
      new UpdateCommand({
        TableName: table,
        Key,
        UpdateExpression: 'SET gsi1pk = :pk, gsi1sk = :sk',
        ExpressionAttributeValues: {
          ':pk': `$visits#status_${partition}`,
          ':sk': `$visit_1#date_${visit.date}#visitid_${visit.id}`,
        },
      }),
    );
    const entryKey = db.entities.listing
      .get({ status, shard: listShard(visit.id), date: visit.date, visitId: visit.id })
      .params() as { Key: Record<string, unknown> };
    await client.send(new DeleteCommand({ TableName: table, Key: entryKey.Key }));
  }

  it('moves old visits to their entries under the status they have now, once, and the lists find them', async () => {
    const { backfillListings } = await import('@svc/visits/listing-backfill');
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const open = await Visits.requestVisit(member.id, visitInput(1, futureDate(300)));
    const done = await Visits.requestVisit(member.id, visitInput(1, futureDate(301)));
    await Visits.completeVisit(pal.id, done.id);
    await makeLegacy(open, 'requested');
    // Completed by the new code after the deploy, but still on the old `requested` partition.
    await makeLegacy(done, 'completed', 'requested');
    expect(await entry('requested', open)).toBeUndefined();
    const listed = async () => (await everyPage({ limit: 100 })).map((v) => v.id);
    expect(await listed()).not.toContain(open.id);

    expect(await backfillListings({ pageSize: 1 })).toBeGreaterThanOrEqual(2);
    expect(await entry('requested', open)).toMatchObject({ visitId: open.id });
    expect(await entry('completed', done)).toMatchObject({ visitId: done.id });
    expect(await entry('requested', done)).toBeUndefined();
    const { client, table } = dynamo();
    const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
    const { Key } = visitsDb().entities.visit.get({ visitId: open.id }).params() as {
      Key: Record<string, unknown>;
    };
    const stored = (await client.send(new GetCommand({ TableName: table, Key }))).Item;
    expect(stored?.gsi1pk).toBeUndefined();
    Visits.forgetListPages();
    expect(await listed()).toEqual(expect.arrayContaining([open.id, done.id]));
    // Run again: nothing left to move.
    expect(await backfillListings()).toBe(0);
  });
});
