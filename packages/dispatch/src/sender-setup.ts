import { readParameter } from '@svc/platform/parameters';
import { dynamoCircuitBreaker } from './breaker.js';
import { callbackUrl } from './callback-token.js';
import type { SenderConfig } from './config.js';
import { httpSmsProvider } from './providers.js';
import { sqsStatusCallbackQueue } from './queue.js';
import type { SenderDeps } from './sender.js';

/** Margin on top of the provider calls for the table writes around them. */
const LEASE_MARGIN_MS = 10_000;

/** The sender's real adapters, built from the stage configuration (once per container). */
export function senderDeps(config: SenderConfig): SenderDeps {
  return {
    providers: config.providers.map((p) => httpSmsProvider(p, config.timeoutMs)),
    weights: config.providers,
    breaker: dynamoCircuitBreaker({ ...config.breaker, probeMs: config.timeoutMs + LEASE_MARGIN_MS }),
    callbackUrl: async (messageId) =>
      callbackUrl(config.callbackBaseUrl, await readParameter(config.callbackSecretParameter), messageId),
    maxReceiveCount: config.maxReceiveCount,
    leaseMs: config.providers.length * config.timeoutMs + LEASE_MARGIN_MS,
    statusCallbacks: sqsStatusCallbackQueue(config.statusCallbacksQueueUrl),
  };
}

/**
 * The claim lease for one invocation: at least the configured lease, and never shorter than the time
 * this invocation may still run, so a slow (not dead) sender cannot lose its claim to a duplicate
 * delivery and both hand the message to a provider. Costs nothing in AWS: SQS redelivers only after
 * the visibility timeout, which is several times the function timeout.
 */
export function invocationLeaseMs(configuredMs: number, remainingMs: number): number {
  return Math.max(configuredMs, remainingMs + LEASE_MARGIN_MS);
}
