import { metrics } from '@svc/platform';
import { readParameter } from '@svc/platform/parameters';
import { dynamoCircuitBreaker } from './breaker.js';
import { callbackUrl } from './callback-token.js';
import type { SenderConfig } from './config.js';
import { DispatchMetric } from './metrics.js';
import { httpSmsProvider } from './providers.js';
import { sqsMessageQueue, sqsStatusCallbackQueue } from './queue.js';
import type { SenderDeps } from './sender.js';

/**
 * Breaker state is read at most once per 1.5–3 s per container (see breaker.ts), and a provider back from
 * an outage ramps to its full share over 30 s.
 */
const BREAKER_CACHE_MS = 3_000;
const BREAKER_RAMP_MS = 30_000;

/** Margin on top of the provider calls for the table writes around them. */
const LEASE_MARGIN_MS = 10_000;

/** BreakerOpened / BreakerClosed per provider (the receivers' breakers are not counted: their names are URLs). */
export function countBreakerTransition(provider: string, to: 'opened' | 'closed') {
  metrics.count(to === 'opened' ? DispatchMetric.breakerOpened : DispatchMetric.breakerClosed, { provider });
}

/** The sender's real adapters, built from the stage configuration (once per container). */
export function senderDeps(config: SenderConfig): SenderDeps {
  return {
    providers: config.providers.map((p) => httpSmsProvider(p, config.timeoutMs)),
    weights: config.providers,
    breaker: dynamoCircuitBreaker({
      ...config.breaker,
      probeMs: config.timeoutMs + LEASE_MARGIN_MS,
      cacheMs: BREAKER_CACHE_MS,
      rampMs: BREAKER_RAMP_MS,
      onTransition: countBreakerTransition,
    }),
    callbackUrl: async (messageId) =>
      callbackUrl(config.callbackBaseUrl, await readParameter(config.callbackSecretParameter), messageId),
    maxReceiveCount: config.maxReceiveCount,
    leaseMs: config.providers.length * config.timeoutMs + LEASE_MARGIN_MS,
    ...(config.sendQueueUrl ? { requeue: sqsMessageQueue(config.sendQueueUrl).enqueue } : {}),
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
