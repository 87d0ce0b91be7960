/** Pure business rules of visits, kept apart from storage so they are tested on their own. */

export const VISIT_STATUSES = ['requested', 'completed', 'canceled'] as const;
export type VisitStatus = (typeof VISIT_STATUSES)[number];

/** The pal gets the minutes less a 15% overhead, rounded half up: 30 → 26 (fee 4), 1 → 1 (fee 0). */
export function palCredit(minutes: number): { palCredit: number; fee: number } {
  const credit = Math.floor((minutes * 85 + 50) / 100);
  return { palCredit: credit, fee: minutes - credit };
}

/** `YYYY-MM-DD` of `now` in UTC. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** A visit may be requested for today (UTC) or later. */
export function isTodayOrLater(date: string, now: Date): boolean {
  return date >= utcDay(now);
}

/** Email uniqueness is case-insensitive; the claim key is the trimmed, lower-cased address. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}
