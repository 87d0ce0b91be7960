import { randomUUID } from 'node:crypto';
import { RESPONSE_BUDGET_BYTES } from '@svc/platform';
import { Accounts, Visits } from '@svc/visits';
import { describe, expect, it } from 'vitest';
import { futureDate, newUser, passwordCost, tokens, uniqueEmail, visitInput } from './support/accounts.js';

/**
 * `count` visits on consecutive days, each as large as the cap on a visit's tasks allows
 * (MAX_TASK_BYTES of names and descriptions in three-byte characters, about 18 KB stored).
 */
async function largestVisits(memberId: string, count: number): Promise<string[]> {
  const per = Math.floor(Visits.MAX_TASK_BYTES / 8 / 3);
  const tasks = Array.from({ length: 8 }, (_, i) => ({
    name: `${i}`.padEnd(Math.floor(per / 10), '中'),
    description: '中'.repeat(per - Math.floor(per / 10)),
  }));
  const ids: string[] = [];
  for (let day = 1; day <= count; day++) {
    ids.push((await Visits.requestVisit(memberId, { date: futureDate(day), minutes: 1, tasks })).id);
  }
  return ids;
}

const balance = async (userId: string) => {
  const u = await Accounts.getUser(userId);
  return { minutes: u.minutes, reserved: u.reserved_minutes, available: u.available_minutes };
};

describe('requesting a visit (DynamoDB Local)', () => {
  it('reserves the minutes on the member and stores the visit', async () => {
    const member = await newUser();
    const visit = await Visits.requestVisit(member.id, visitInput(30));
    expect(visit).toMatchObject({ member_id: member.id, minutes: 30, status: 'requested' });
    expect(visit.tasks[0]).toMatchObject({
      id: expect.any(String),
      name: 'groceries',
      description: 'weekly shop',
    });
    expect(await balance(member.id)).toEqual({ minutes: 120, reserved: 30, available: 90 });
    expect(await Visits.getVisit(visit.id)).toEqual(visit);
  });

  it('accepts exactly the available minutes and refuses one more', async () => {
    const member = await newUser();
    await Visits.requestVisit(member.id, visitInput(100));
    await Visits.requestVisit(member.id, visitInput(20));
    await expect(Visits.requestVisit(member.id, visitInput(1))).rejects.toMatchObject({
      kind: 'validation',
      fields: { minutes: ['exceeds available minutes'] },
    });
    expect(await balance(member.id)).toEqual({ minutes: 120, reserved: 120, available: 0 });
  });

  it('refuses an overspend and stores nothing', async () => {
    const member = await newUser(50);
    await expect(Visits.requestVisit(member.id, visitInput(51))).rejects.toMatchObject({
      kind: 'validation',
    });
    expect(await balance(member.id)).toEqual({ minutes: 50, reserved: 0, available: 50 });
    expect((await Visits.listVisits({ member_id: member.id, limit: 10 })).data).toEqual([]);
  });

  it('lets a balance of 0 request nothing', async () => {
    const member = await newUser(0);
    await expect(Visits.requestVisit(member.id, visitInput(1))).rejects.toMatchObject({ kind: 'validation' });
  });

  it('refuses a date in the past (UTC) and accepts today', async () => {
    const member = await newUser();
    const now = new Date();
    const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
    await expect(Visits.requestVisit(member.id, visitInput(5, yesterday), now)).rejects.toMatchObject({
      kind: 'validation',
      fields: { date: ['must be today or later'] },
    });
    const today = now.toISOString().slice(0, 10);
    expect((await Visits.requestVisit(member.id, visitInput(5, today), now)).date).toBe(today);
  });

  it('refuses a member whose account does not exist', async () => {
    await expect(Visits.requestVisit(randomUUID(), visitInput(5))).rejects.toMatchObject({
      kind: 'unauthenticated',
    });
  });
});

describe('completing a visit', () => {
  it('debits the member, credits the pal less the fee and records the transaction, once', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const visit = await Visits.requestVisit(member.id, visitInput(30));
    const done = await Visits.completeVisit(pal.id, visit.id);
    expect(done.transaction).toMatchObject({
      visit_id: visit.id,
      member_id: member.id,
      pal_id: pal.id,
      minutes: 30,
      pal_credit: 26,
      fee: 4,
    });
    expect(done.visit).toMatchObject({ id: visit.id, status: 'completed', pal_id: pal.id });
    expect(done.member).toEqual({ id: member.id, minutes: 90 });
    expect(done.pal).toEqual({ id: pal.id, minutes: 146 });
    expect(await balance(member.id)).toEqual({ minutes: 90, reserved: 0, available: 90 });
    expect(await balance(pal.id)).toEqual({ minutes: 146, reserved: 0, available: 146 });
    expect((await Visits.getVisit(visit.id)).status).toBe('completed');

    // The same transaction is in both parties' lists.
    const [asMember, asPal] = await Promise.all([
      Visits.listTransactions(member.id, { limit: 10 }),
      Visits.listTransactions(pal.id, { limit: 10 }),
    ]);
    expect(asMember.data).toEqual([done.transaction]);
    expect(asPal.data).toEqual([done.transaction]);
  });

  it('refuses a second completion (409) and moves no minutes', async () => {
    const [member, pal, other] = await Promise.all([newUser(), newUser(), newUser()]);
    const visit = await Visits.requestVisit(member.id, visitInput(10));
    await Visits.completeVisit(pal.id, visit.id);
    await expect(Visits.completeVisit(other.id, visit.id)).rejects.toMatchObject({ kind: 'conflict' });
    await expect(Visits.completeVisit(pal.id, visit.id)).rejects.toMatchObject({ kind: 'conflict' });
    expect(await balance(member.id)).toEqual({ minutes: 110, reserved: 0, available: 110 });
    expect(await balance(pal.id)).toMatchObject({ minutes: 129 });
    expect(await balance(other.id)).toMatchObject({ minutes: 120 });
    expect((await Visits.listTransactions(other.id, { limit: 10 })).data).toEqual([]);
  });

  it('refuses completing your own visit (403), an unknown one (404) and a canceled one (409)', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const visit = await Visits.requestVisit(member.id, visitInput(10));
    await expect(Visits.completeVisit(member.id, visit.id)).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(Visits.completeVisit(pal.id, randomUUID())).rejects.toMatchObject({ kind: 'not_found' });
    await Visits.cancelVisit(member.id, visit.id);
    await expect(Visits.completeVisit(pal.id, visit.id)).rejects.toMatchObject({ kind: 'conflict' });
    expect(await balance(pal.id)).toMatchObject({ minutes: 120 });
  });

  it('refuses a pal whose account is gone', async () => {
    const member = await newUser();
    const visit = await Visits.requestVisit(member.id, visitInput(10));
    await expect(Visits.completeVisit(randomUUID(), visit.id)).rejects.toMatchObject({
      kind: 'unauthenticated',
    });
    expect((await Visits.getVisit(visit.id)).status).toBe('requested');
  });
});

describe('canceling a visit', () => {
  it('releases the reservation with the status change', async () => {
    const member = await newUser();
    const visit = await Visits.requestVisit(member.id, visitInput(40));
    const canceled = await Visits.cancelVisit(member.id, visit.id);
    expect(canceled).toMatchObject({ id: visit.id, status: 'canceled', canceled_at: expect.any(String) });
    expect(await balance(member.id)).toEqual({ minutes: 120, reserved: 0, available: 120 });
    await expect(Visits.cancelVisit(member.id, visit.id)).rejects.toMatchObject({ kind: 'conflict' });
    expect(await balance(member.id)).toEqual({ minutes: 120, reserved: 0, available: 120 });
  });

  it('refuses to cancel a completed visit (409) and keeps its debit', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const visit = await Visits.requestVisit(member.id, visitInput(20));
    await Visits.completeVisit(pal.id, visit.id);
    await expect(Visits.cancelVisit(member.id, visit.id)).rejects.toMatchObject({ kind: 'conflict' });
    expect(await balance(member.id)).toEqual({ minutes: 100, reserved: 0, available: 100 });
  });

  it("refuses someone else's visit (403) and an unknown one (404)", async () => {
    const [member, other] = await Promise.all([newUser(), newUser()]);
    const visit = await Visits.requestVisit(member.id, visitInput(20));
    await expect(Visits.cancelVisit(other.id, visit.id)).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(Visits.cancelVisit(member.id, randomUUID())).rejects.toMatchObject({ kind: 'not_found' });
    expect((await Visits.getVisit(visit.id)).status).toBe('requested');
  });
});

describe('accounts', () => {
  it('enforces email uniqueness case-insensitively under concurrent registrations', async () => {
    const base = uniqueEmail('Race');
    const variants = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0 ? base : i % 3 === 1 ? base.toUpperCase() : base.toLowerCase(),
    );
    const results = await Promise.allSettled(
      variants.map((email) =>
        Accounts.register(
          { email, password: 'long enough password', first_name: 'A', last_name: 'B' },
          { tokens, startingMinutes: 120, passwordCost },
        ),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const r of lost)
      expect(r.reason).toMatchObject({ kind: 'conflict', fields: { email: ['has already been taken'] } });
    // Logging in works with any casing of the address.
    await expect(
      Accounts.startSession(
        { email: base.toUpperCase(), password: 'long enough password' },
        { tokens, passwordCost },
      ),
    ).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('answers wrong email and wrong password alike', async () => {
    const user = await newUser();
    const wrongPassword = Accounts.startSession(
      { email: user.email, password: 'not the password' },
      { tokens, passwordCost },
    );
    const wrongEmail = Accounts.startSession(
      { email: uniqueEmail(), password: 'correct horse battery' },
      { tokens, passwordCost },
    );
    const [a, b] = await Promise.allSettled([wrongPassword, wrongEmail]);
    expect(a).toMatchObject({ status: 'rejected', reason: { kind: 'unauthenticated' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { kind: 'unauthenticated' } });
    expect((a as PromiseRejectedResult).reason.message).toBe((b as PromiseRejectedResult).reason.message);
  });

  it('starts new users with the stage minutes and shows their balance', async () => {
    const user = await newUser(75);
    expect(await Accounts.getUser(user.id)).toEqual({
      id: user.id,
      email: user.email,
      first_name: 'Test',
      last_name: 'User',
      minutes: 75,
      reserved_minutes: 0,
      available_minutes: 75,
    });
  });

  it('deleting an account cancels its requested visits and keeps completed ones and transactions', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const open1 = await Visits.requestVisit(member.id, visitInput(10));
    const open2 = await Visits.requestVisit(member.id, visitInput(15));
    const done = await Visits.requestVisit(member.id, visitInput(20));
    const completion = await Visits.completeVisit(pal.id, done.id);

    await Accounts.unregister(member.id);

    expect(await Accounts.accountExists(member.id)).toBe(false);
    expect((await Visits.getVisit(open1.id)).status).toBe('canceled');
    expect((await Visits.getVisit(open2.id)).status).toBe('canceled');
    expect((await Visits.getVisit(done.id)).status).toBe('completed');
    expect((await Visits.listTransactions(pal.id, { limit: 10 })).data).toEqual([completion.transaction]);
    // The email is free again, for a new account with a new id.
    const again = await newUser(120, member.email.toUpperCase());
    expect(again.id).not.toBe(member.id);
    // A repeated delete is a no-op.
    await expect(Accounts.unregister(member.id)).resolves.toBeUndefined();
  });

  it('deleting an account that held no reservation is one transaction, and a stale "no reservation" still cancels the visits', async () => {
    const empty = await newUser();
    const emptyAccount = await Accounts.findAccount(empty.id);
    await Accounts.unregister(empty.id, new Date(), emptyAccount ?? undefined);
    expect(await Accounts.accountExists(empty.id)).toBe(false);
    expect(await newUser(120, empty.email)).toMatchObject({ email: empty.email });

    // The token check saw reserved = 0, then a visit was requested before the deletion ran.
    const member = await newUser();
    const seen = await Accounts.findAccount(member.id);
    const open = await Visits.requestVisit(member.id, visitInput(10));
    expect(seen?.reserved).toBe(0);
    await Accounts.unregister(member.id, new Date(), seen ?? undefined);
    expect(await Accounts.accountExists(member.id)).toBe(false);
    expect((await Visits.getVisit(open.id)).status).toBe('canceled');
  });

  it('a deletion racing a completion: the visit is either completed (debited) or canceled (released), never both', async () => {
    for (let round = 0; round < 5; round++) {
      const [member, pal] = await Promise.all([newUser(), newUser()]);
      const visit = await Visits.requestVisit(member.id, visitInput(30));
      const [completion, deletion] = await Promise.allSettled([
        Visits.completeVisit(pal.id, visit.id),
        Accounts.unregister(member.id),
      ]);
      expect(deletion.status).toBe('fulfilled');
      const final = await Visits.getVisit(visit.id);
      const palMinutes = (await Accounts.getUser(pal.id)).minutes;
      if (completion.status === 'fulfilled') {
        expect(final.status).toBe('completed');
        expect(palMinutes).toBe(146);
      } else {
        expect(completion.reason).toMatchObject({ kind: 'conflict' });
        expect(final.status).toBe('canceled');
        expect(palMinutes).toBe(120);
      }
      expect(await Accounts.accountExists(member.id)).toBe(false);
    }
  });
});

describe('lists', () => {
  it('lists visits soonest first with every filter and pages through them', async () => {
    const [member, pal] = await Promise.all([newUser(), newUser()]);
    const dates = [futureDate(40), futureDate(10), futureDate(30), futureDate(20), futureDate(10)];
    const visits = [];
    for (const date of dates) visits.push(await Visits.requestVisit(member.id, visitInput(5, date)));
    await Visits.completeVisit(pal.id, visits[2]?.id ?? '');
    await Visits.cancelVisit(member.id, visits[3]?.id ?? '');

    const all = await Visits.listVisits({ member_id: member.id, limit: 50 });
    expect(all.data.map((v) => v.date)).toEqual([...dates].sort());
    expect(all.next_cursor).toBeNull();

    const requested = await Visits.listVisits({ member_id: member.id, status: 'requested', limit: 50 });
    expect(requested.data.map((v) => v.id).sort()).toEqual(
      [visits[0], visits[1], visits[4]].map((v) => v?.id).sort(),
    );
    expect(requested.data.map((v) => v.date)).toEqual([dates[1], dates[4], dates[0]].sort());

    const completed = await Visits.listVisits({ member_id: member.id, status: 'completed', limit: 50 });
    expect(completed.data.map((v) => v.id)).toEqual([visits[2]?.id]);

    // Pages of 2 cover everything once, in order.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await Visits.listVisits({ member_id: member.id, limit: 2, cursor });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((v) => v.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.data.map((v) => v.id));
  });

  it('lists by status across members, soonest first, and without filters by merging statuses', async () => {
    const member = await newUser();
    const soon = await Visits.requestVisit(member.id, visitInput(5, new Date().toISOString().slice(0, 10)));
    const byStatus = await Visits.listVisits({ status: 'requested', limit: 100 });
    const datesByStatus = byStatus.data.map((v) => v.date);
    expect(datesByStatus).toEqual([...datesByStatus].sort());
    expect(byStatus.data.every((v) => v.status === 'requested')).toBe(true);

    const seen: string[] = [];
    const dates: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await Visits.listVisits({ limit: 7, cursor });
      seen.push(...page.data.map((v) => v.id));
      dates.push(...page.data.map((v) => v.date));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(dates).toEqual([...dates].sort());
    expect(seen).toContain(soon.id);
  });

  it('lists transactions newest first, as member or pal, with pages', async () => {
    const [a, b] = await Promise.all([newUser(), newUser()]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [member, pal] = i % 2 === 0 ? [a, b] : [b, a];
      const visit = await Visits.requestVisit(member.id, visitInput(3 + i));
      ids.push(
        (await Visits.completeVisit(pal.id, visit.id, new Date(Date.now() + i * 1000))).transaction.id,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await Visits.listTransactions(a.id, { limit: 2, cursor });
      seen.push(...page.data.map((t) => t.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  // The cap on a visit's size (16 KB of tasks) leaves no page of 100 visits near the 1 MB a DynamoDB read
  // returns or the 6 MB a Lambda may answer; pages of the largest legal visits still go on exactly.
  it('pages through visits at the size cap', async () => {
    const member = await newUser(100);
    const ids = await largestVisits(member.id, 5);
    const all = await Visits.listVisits({ member_id: member.id, limit: 50 });
    expect(all.data.map((v) => v.id)).toEqual(ids);
    expect(all.next_cursor).toBeNull();
    const first = await Visits.listVisits({ member_id: member.id, status: 'requested', limit: 4 });
    expect(first.data.map((v) => v.id)).toEqual(ids.slice(0, 4));
    const rest = await Visits.listVisits({
      member_id: member.id,
      status: 'requested',
      limit: 4,
      cursor: first.next_cursor ?? '',
    });
    expect(rest).toEqual({ data: [expect.objectContaining({ id: ids[4] })], next_cursor: null });
    expect(RESPONSE_BUDGET_BYTES).toBeGreaterThan(100 * 20 * 1024);
  });

  it('refuses a cursor that is not one of ours', async () => {
    await expect(Visits.listVisits({ limit: 5, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({
      kind: 'bad_request',
    });
  });
});
