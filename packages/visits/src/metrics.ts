/** Visits' business metrics (README "Observability"); no dimension beyond the service. */
export const VisitsMetric = {
  /** A visit requested (its minutes reserved). */
  requested: 'VisitsRequested',
  completed: 'VisitsCompleted',
  /** A requested visit canceled (by its member, or by the account's deletion); its minutes released. */
  cancelled: 'VisitsCancelled',
  /** Minutes debited from members by completed visits (unit Count: one per minute). */
  minutesMoved: 'MinutesMoved',
  /** Minutes kept as the fee of completed visits (the member's debit less the pal's credit). */
  fees: 'FeeMinutes',
} as const;
