import { expect } from 'vitest';

/** What the invariants of SPEC §1 are checked against, however it was read (domain or HTTP). */
export interface Snapshot {
  users: { id: string; initial: number; minutes: number; reserved: number; available: number }[];
  visits: { id: string; member_id: string; minutes: number; status: string }[];
  /** Every transaction seen by any party (duplicates across parties allowed). */
  transactions: {
    id: string;
    visit_id: string;
    member_id: string;
    pal_id: string;
    minutes: number;
    pal_credit: number;
    fee: number;
  }[];
}

export function assertInvariants(s: Snapshot): void {
  const transactions = [...new Map(s.transactions.map((t) => [t.id, t])).values()];

  // A visit completes at most once: exactly one transaction per completed visit, none for the others.
  const perVisit = new Map<string, number>();
  for (const t of transactions) perVisit.set(t.visit_id, (perVisit.get(t.visit_id) ?? 0) + 1);
  for (const v of s.visits) {
    expect(perVisit.get(v.id) ?? 0, `transactions of visit ${v.id} (${v.status})`).toBe(
      v.status === 'completed' ? 1 : 0,
    );
  }
  for (const t of transactions) {
    expect(t.pal_credit + t.fee).toBe(t.minutes);
    expect(t.pal_credit).toBe(Math.floor((t.minutes * 85 + 50) / 100));
    expect(t.member_id).not.toBe(t.pal_id);
  }

  for (const u of s.users) {
    // 0 ≤ reserved ≤ minutes, and the stored `available` is exactly the difference.
    expect(u.reserved, `reserved of ${u.id}`).toBeGreaterThanOrEqual(0);
    expect(u.reserved, `reserved of ${u.id}`).toBeLessThanOrEqual(u.minutes);
    expect(u.available).toBe(u.minutes - u.reserved);
    // The reservation is exactly the member's still-requested visits.
    const requested = s.visits.filter((v) => v.member_id === u.id && v.status === 'requested');
    expect(u.reserved, `reserved of ${u.id}`).toBe(requested.reduce((n, v) => n + v.minutes, 0));
    // Balance moves only by recorded transactions.
    const spent = transactions.filter((t) => t.member_id === u.id).reduce((n, t) => n + t.minutes, 0);
    const earned = transactions.filter((t) => t.pal_id === u.id).reduce((n, t) => n + t.pal_credit, 0);
    expect(u.minutes, `minutes of ${u.id}`).toBe(u.initial - spent + earned);
    // Nothing was accepted beyond what the budget covered.
    const committed = s.visits
      .filter((v) => v.member_id === u.id && v.status !== 'canceled')
      .reduce((n, v) => n + v.minutes, 0);
    expect(committed).toBeLessThanOrEqual(u.initial + earned);
  }

  // Minutes in the system change only by the fees recorded in transactions.
  const ids = new Set(s.users.map((u) => u.id));
  const closed = transactions.filter((t) => ids.has(t.member_id) && ids.has(t.pal_id));
  const before = s.users.reduce((n, u) => n + u.initial, 0);
  const after = s.users.reduce((n, u) => n + u.minutes, 0);
  expect(before - after).toBe(closed.reduce((n, t) => n + t.fee, 0));
}

/** `ok`, or the domain error kind (`validation`, `conflict`, ...), or `500` for anything unexpected. */
export async function outcome<T>(work: Promise<T>): Promise<string> {
  try {
    await work;
    return 'ok';
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    return kind ?? `500: ${String(error)}`;
  }
}

export const tally = (outcomes: string[]) =>
  outcomes.reduce<Record<string, number>>((acc, o) => {
    acc[o] = (acc[o] ?? 0) + 1;
    return acc;
  }, {});
