import { readParameter } from '@svc/platform/parameters';
import { httpWebhookSender } from '@svc/platform/webhooks';
import { dynamoCircuitBreaker } from './breaker.js';
import type { StatusCallbackConfig } from './config.js';
import { sqsStatusCallbackQueue } from './queue.js';
import type { SyncDeps } from './status-callbacks.js';

/** Margin on top of the receiver calls for the table writes around them. */
const LEASE_MARGIN_MS = 10_000;

/** The status-callback consumer's real adapters (once per container). */
export function statusCallbackDeps(config: StatusCallbackConfig): SyncDeps {
  return {
    webhook: httpWebhookSender({
      policy: { allowLocalHttp: config.allowLocalHttp },
      secret: () => readParameter(config.secretParameter),
      timeoutMs: config.timeoutMs,
      userAgent: 'svc-dispatch-status-callbacks/1',
    }),
    // Receivers share the providers' breaker table items under `receiver:<origin>` names.
    breaker: dynamoCircuitBreaker({ ...config.breaker, probeMs: config.timeoutMs + LEASE_MARGIN_MS }),
    queue: sqsStatusCallbackQueue(config.queueUrl),
    maxReceiveCount: config.maxReceiveCount,
    // Every status of a message (at most four) called in one sync, each up to the timeout.
    leaseMs: 4 * config.timeoutMs + LEASE_MARGIN_MS,
  };
}
