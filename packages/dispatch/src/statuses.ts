/** Message statuses, kept free of ElectroDB so route tables (imported by infra) stay light. */
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'invalid'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
