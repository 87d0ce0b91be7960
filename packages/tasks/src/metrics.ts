import type { WebhookEventName } from './schemas.js';

/** Tasks' business metrics (README "Observability"). Dimension: `outcome` only. */
export const TasksMetric = {
  /**
   * Webhook events of one type (`WebhookCreated`, `WebhookUpdated`, `WebhookDeleted`: the type is in the
   * name, as no `type` dimension exists); `outcome` applied, stale, repeat or rejected.
   */
  webhook: (event: WebhookEventName) => `Webhook${event[0]?.toUpperCase()}${event.slice(1)}`,
  /** One user's report job; `outcome` stored, exists (a repeat), empty (nothing to report). */
  reports: 'ReportsGenerated',
  /** How late a planner run claimed its window: now − (window start + one interval), seconds. */
  runLag: 'ReportRunLag',
} as const;
