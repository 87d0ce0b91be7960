import { Accounts, type Visit, Visits } from '@svc/visits';
import { describe, expect, it } from 'vitest';
import { newUser, type TestUser, visitInput } from './support/accounts.js';
import { assertInvariants, outcome, type Snapshot, tally } from './support/invariants.js';

/** Reads everything the invariants need straight from the domain (consistent reads). */
async function snapshot(users: { user: TestUser; initial: number }[], visitIds: string[]): Promise<Snapshot> {
  const [balances, visits, ledgers] = await Promise.all([
    Promise.all(users.map(({ user }) => Accounts.getUser(user.id))),
    Promise.all(visitIds.map((id) => Visits.getVisit(id))),
    Promise.all(users.map(({ user }) => Visits.listTransactions(user.id, { limit: 100 }))),
  ]);
  return {
    users: balances.map((b, i) => ({
      id: b.id,
      initial: users[i]?.initial ?? 0,
      minutes: b.minutes,
      reserved: b.reserved_minutes,
      available: b.available_minutes,
    })),
    visits,
    transactions: ledgers.flatMap((l) => l.data),
  };
}

describe('visits under concurrency (domain against DynamoDB Local)', () => {
  it('30 simultaneous requests against one budget accept exactly what it covers', async () => {
    const member = await newUser(120);
    const accepted: Visit[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        outcome(Visits.requestVisit(member.id, visitInput(7)).then((v) => accepted.push(v))),
      ),
    );
    const counts = tally(outcomes);
    expect(
      Object.keys(counts).every((k) => ['ok', 'validation', 'conflict'].includes(k)),
      JSON.stringify(counts),
    ).toBe(true);
    expect(accepted.length * 7).toBeLessThanOrEqual(120);
    // Contention may end a few in 409 after their retries; all others are decided by the budget alone.
    expect(accepted.length + (counts.conflict ?? 0)).toBeGreaterThanOrEqual(17);
    if (!counts.conflict) expect(accepted.length).toBe(17);
    expect(counts.validation ?? 0).toBeGreaterThan(0);
    const user = await Accounts.getUser(member.id);
    expect(user.reserved_minutes).toBe(accepted.length * 7);
    assertInvariants(
      await snapshot(
        [{ user: member, initial: 120 }],
        accepted.map((v) => v.id),
      ),
    );
  });

  it('5 pals racing to complete one visit: exactly one wins, the rest get 409', async () => {
    const member = await newUser(120);
    const pals = await Promise.all(Array.from({ length: 5 }, () => newUser(120)));
    const visit = await Visits.requestVisit(member.id, visitInput(30));
    const outcomes = await Promise.all(pals.map((pal) => outcome(Visits.completeVisit(pal.id, visit.id))));
    expect(tally(outcomes)).toEqual({ ok: 1, conflict: 4 });
    const winner = pals[outcomes.indexOf('ok')];
    expect((await Accounts.getUser(winner?.id ?? '')).minutes).toBe(146);
    expect((await Accounts.getUser(member.id)).minutes).toBe(90);
    assertInvariants(
      await snapshot(
        [{ user: member, initial: 120 }, ...pals.map((user) => ({ user, initial: 120 }))],
        [visit.id],
      ),
    );
  });

  it('a mix of completions, cancellations and new requests keeps every invariant', async () => {
    const members = await Promise.all(Array.from({ length: 4 }, () => newUser(120)));
    const pals = await Promise.all(Array.from({ length: 4 }, () => newUser(60)));
    const visits: Visit[] = [];
    for (const member of members) {
      for (const minutes of [10, 20, 30])
        visits.push(await Visits.requestVisit(member.id, visitInput(minutes)));
    }
    const created: Visit[] = [];
    const ops: Promise<string>[] = [];
    visits.forEach((visit, i) => {
      // Every visit is completed by two pals at once; every other one is also cancelled by its member.
      ops.push(outcome(Visits.completeVisit(pals[i % 4]?.id ?? '', visit.id)));
      ops.push(outcome(Visits.completeVisit(pals[(i + 1) % 4]?.id ?? '', visit.id)));
      if (i % 2 === 0) ops.push(outcome(Visits.cancelVisit(visit.member_id, visit.id)));
    });
    for (const member of members) {
      // 60 minutes are free per member; these ask for 80 while the reservations above are moving.
      for (const minutes of [25, 25, 15, 15]) {
        ops.push(outcome(Visits.requestVisit(member.id, visitInput(minutes)).then((v) => created.push(v))));
      }
    }
    // Pals spend what they earn concurrently too.
    for (const pal of pals)
      ops.push(outcome(Visits.requestVisit(pal.id, visitInput(50)).then((v) => created.push(v))));
    const counts = tally(await Promise.all(ops));
    expect(
      Object.keys(counts).every((k) => ['ok', 'validation', 'conflict'].includes(k)),
      JSON.stringify(counts),
    ).toBe(true);

    const finals = await Promise.all(visits.map((v) => Visits.getVisit(v.id)));
    expect(finals.every((v) => v.status === 'completed' || v.status === 'canceled')).toBe(true);
    const everyone = [
      ...members.map((user) => ({ user, initial: 120 })),
      ...pals.map((user) => ({ user, initial: 60 })),
    ];
    assertInvariants(
      await snapshot(
        everyone,
        [...visits, ...created].map((v) => v.id),
      ),
    );
  });

  it('the invariant checker itself notices a broken state', () => {
    const user = { id: 'u', initial: 120, minutes: 120, reserved: 30, available: 90 };
    expect(() =>
      assertInvariants({
        users: [user],
        visits: [{ id: 'v', member_id: 'u', minutes: 20, status: 'requested' }],
        transactions: [],
      }),
    ).toThrow();
    expect(() =>
      assertInvariants({
        users: [{ ...user, reserved: 0, available: 120 }],
        visits: [{ id: 'v', member_id: 'u', minutes: 30, status: 'completed' }],
        transactions: [],
      }),
    ).toThrow();
  });
});
