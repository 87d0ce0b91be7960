/** Assistance's business metrics (README "Observability"). Dimensions: `channel`, `outcome`. */
export const AssistanceMetric = {
  /**
   * One delivery attempt of one request on one channel; `outcome` delivered, failed, fallback (handed to
   * the rule's fallback channel), retry (left on the queue) or skipped (nothing to do).
   */
  deliveries: 'AssistanceDeliveries',
  /** A request handed from `channel` to its fallback channel. */
  fallbacks: 'AssistanceFallbacks',
} as const;
