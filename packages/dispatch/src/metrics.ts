/**
 * Dispatch's business metrics (README "Observability"): the names the code records and the alarms and
 * dashboard read. Dimensions: `provider` (the stage's provider names) and `outcome` only.
 */
export const DispatchMetric = {
  /** A send request stored and queued (202). */
  accepted: 'SmsAccepted',
  /** A provider took the message; `provider`. */
  sent: 'SmsSent',
  /** A send that a provider accepted after another failed or was skipped; `provider` (who took it over). */
  failover: 'SmsFailovers',
  /** Each provider call, ms; `provider`, `outcome` (accepted, rejected, unavailable). */
  providerLatency: 'ProviderLatency',
  /** Each delivery of a send job; `outcome` (sent, done, suppressed, busy, retry, failed). */
  sendJobs: 'SmsSendJobs',
  /** A provider's report that changed a message; `provider`, `outcome` (delivered, failed, invalid). */
  delivery: 'SmsDelivery',
  /** From the 202 to the provider's `delivered` report, ms; `provider`. */
  timeToDelivered: 'SmsTimeToDelivered',
  /** A provider's breaker opened (once per opening) or closed again; `provider`. */
  breakerOpened: 'BreakerOpened',
  breakerClosed: 'BreakerClosed',
  /** Each status-callback POST (or a call paused by the receiver's breaker); `outcome` (delivered, failed, paused). */
  statusCallbacks: 'StatusCallbacks',
} as const;
