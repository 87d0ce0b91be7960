/** Message statuses, kept free of ElectroDB so route tables (imported by infra) stay light. */
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'invalid'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/**
 * Statuses a sender's `status_callback_url` hears about: every change after `queued` except `sending`,
 * which is internal (a claim, or an attempt that will be retried).
 */
export const CALLBACK_STATUSES = [
  'sent',
  'delivered',
  'failed',
  'invalid',
] as const satisfies readonly MessageStatus[];
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];
