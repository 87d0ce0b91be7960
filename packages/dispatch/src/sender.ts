import { randomUUID } from 'node:crypto';
import {
  conditionFailureItem,
  isConditionFailure,
  type Logger,
  logger,
  type MetricsPort,
  OLD_ITEM_ON_CONDITION_FAILURE,
  metrics as platformMetrics,
  retryContention,
  type ScopedLogger,
  scopedLogger,
} from '@svc/platform';
import type { BreakerPhase, CircuitBreaker } from './breaker.js';
import { dispatchDb, type MessageItem } from './entities.js';
import { findMessage, isSuppressed } from './messages.js';
import { DispatchMetric } from './metrics.js';
import { providerOrder, type SmsProvider, type Weighted } from './providers.js';
import type { SendJob } from './queue.js';
import { announceStatus, type StatusCallbackQueue } from './status-callbacks.js';

export interface SenderDeps {
  providers: readonly SmsProvider[];
  weights: readonly Weighted[];
  breaker: CircuitBreaker;
  callbackUrl(messageId: string): Promise<string>;
  /** SQS receives before the DLQ (the queue's maxReceiveCount). */
  maxReceiveCount: number;
  /** How long a claim keeps other senders away: longer than every provider call put together. */
  leaseMs: number;
  /**
   * Puts a job on the send queue: where a provider's acceptance goes when the table refuses both the
   * message's `sent` write and the acceptance item (absent: that last fallback is skipped).
   */
  requeue?(job: SendJob): Promise<void>;
  now?: () => number;
  random?: () => number;
  log?: Logger;
  /** Told of every reportable status change of a message with a `status_callback_url` (SPEC §5). */
  statusCallbacks?: StatusCallbackQueue;
  /** Where sends, failovers and provider latency are counted (default: the platform's EMF metrics). */
  metrics?: MetricsPort;
}

/**
 * What became of one delivery of a send job.
 * - `sent`: a provider accepted it now (recorded on the message, or kept apart when the table refused that).
 * - `done`: nothing to do (already accepted by a provider, or the message does not exist).
 * - `suppressed`: the number was reported invalid meanwhile; marked failed without a provider call.
 * - `busy`: another sender holds a live claim; retry later (it may crash).
 * - `retry`: every provider failed; the message stays `sending` without a claim, to be retried.
 * - `failed`: every provider failed on the last receive; the message is `failed` and goes to the DLQ.
 */
export type SendOutcome = 'sent' | 'done' | 'suppressed' | 'busy' | 'retry' | 'failed';

/** Outcomes whose SQS record must be reported failed (so SQS redelivers it, or moves it to the DLQ). */
export const RETRY_OUTCOMES: ReadonlySet<SendOutcome> = new Set(['busy', 'retry', 'failed']);

const messages = () => dispatchDb().entities.message;

type Claim =
  | { message: MessageItem; token: string }
  /** `current`: the item as the refusal found it (for re-announcing its status after a lost announcement). */
  | { outcome: SendOutcome; current?: Partial<MessageItem> };

/**
 * The only way to a provider call: a conditional write that moves the message to `sending` under a new
 * claim token. It succeeds for a `queued` message, a `sending` one whose lease ran out (its sender
 * died or gave up), and a `failed` one no provider ever accepted (a DLQ replay). Anything a provider
 * accepted has a `providerMessageId` and can never be claimed again.
 */
async function claim(id: string, now: number, leaseMs: number): Promise<Claim> {
  const token = randomUUID();
  const at = new Date(now).toISOString();
  let refused: Partial<MessageItem> | undefined;
  try {
    const { data } = await messages()
      .patch({ id })
      .set({ status: 'sending', claimToken: token, claimExpiresAt: now + leaseMs, updatedAt: at })
      .add({ attempts: 1 })
      .append({ history: [{ status: 'sending', at }] })
      .where(
        (a, op) =>
          `${op.eq(a.status, 'queued')} OR ` +
          `(${op.eq(a.status, 'sending')} AND (${op.notExists(a.claimExpiresAt)} OR ${op.lt(a.claimExpiresAt, now)})) OR ` +
          `(${op.eq(a.status, 'failed')} AND ${op.notExists(a.providerMessageId)})`,
      )
      .go({ response: 'all_new', params: OLD_ITEM_ON_CONDITION_FAILURE });
    return { message: data as MessageItem, token };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Refused: the item as it was says why, without reading it again.
    refused = conditionFailureItem(error) as Partial<MessageItem> | undefined;
  }
  const current = refused ?? (await findMessage(id));
  if (!current || current.providerMessageId !== undefined) return { outcome: 'done', current };
  if (current.status === 'sending') return { outcome: 'busy' };
  return { outcome: 'done', current };
}

/** Ends a claim: only its holder may, and only while the message is still `sending`. */
async function finish(
  id: string,
  token: string,
  at: string,
  update: { status: 'sending' | 'failed'; detail: string },
): Promise<boolean> {
  try {
    await messages()
      .patch({ id })
      .set({ status: update.status, updatedAt: at })
      .remove(['claimToken', 'claimExpiresAt'])
      .append({ history: [{ status: update.status, at, detail: update.detail }] })
      .where((a, op) => `${op.eq(a.claimToken, token)} AND ${op.eq(a.status, 'sending')}`)
      .go();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

type Acceptance = NonNullable<SendJob['accepted']>;

/**
 * Records `sent` with the provider's message id. With a claim token only its holder may (the normal path);
 * without one (an acceptance carried by the queue) any message no provider accepted yet may. Throws on
 * anything but a refused condition (e.g. throttling): the caller keeps the acceptance elsewhere.
 */
async function recordSent(
  id: string,
  token: string | undefined,
  accepted: Acceptance,
  log: ScopedLogger,
): Promise<void> {
  const { provider, providerMessageId, at } = accepted;
  const entry = { status: 'sent' as const, at, provider };
  try {
    await messages()
      .patch({ id })
      .set({ status: 'sent', provider, providerMessageId, updatedAt: at })
      .remove(['claimToken', 'claimExpiresAt'])
      .append({ history: [entry] })
      .where((a, op) =>
        token
          ? `${op.eq(a.claimToken, token)} AND ${op.eq(a.status, 'sending')}`
          : `(${op.eq(a.status, 'sending')} OR ${op.eq(a.status, 'failed')} OR ${op.eq(a.status, 'queued')}) AND ${op.notExists(a.providerMessageId)}`,
      )
      .go();
    return;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  // The provider's callback got here first and already moved the message on: record who sent it,
  // with `sent` placed before the callback's entry (it did happen first).
  const current = await findMessage(id);
  if (current?.providerMessageId === providerMessageId && current.provider === undefined) {
    const history = [...current.history];
    let index = history.length;
    while (index > 0 && history[index - 1]?.status !== 'sending') index--;
    const next = history[index];
    history.splice(index, 0, { ...entry, at: next && next.at < at ? next.at : at });
    try {
      await messages()
        .patch({ id })
        .set({ provider, history })
        .remove(['claimToken', 'claimExpiresAt'])
        .where((a, op) => `${op.eq(a.providerMessageId, providerMessageId)} AND ${op.notExists(a.provider)}`)
        .go();
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
  if (current?.providerMessageId === providerMessageId) return; // already recorded (a repeated job)
  log.error('provider accepted a message whose claim was lost', {
    message_id: id,
    provider,
    provider_message_id: providerMessageId,
  });
}

/** How long an acceptance item is kept: past any redelivery or DLQ replay (the DLQ keeps 14 days). */
const ACCEPTANCE_TTL_SECONDS = 30 * 86_400;

async function putAcceptance(messageId: string, accepted: Acceptance, now: number): Promise<void> {
  await dispatchDb()
    .entities.acceptance.put({
      messageId,
      ...accepted,
      expiresAt: Math.floor(now / 1000) + ACCEPTANCE_TTL_SECONDS,
    })
    .go();
}

/**
 * A provider accepted but the message's `sent` write failed (the table throttled it past the SDK's retries):
 * the acceptance must outlive this invocation, or a redelivery after the lease would send the SMS again.
 * It goes to an item of its own (another partition than the throttled message), which every re-claim reads;
 * if the table refuses that too, onto the send queue as a job that records it. Only if all of that fails is
 * it merely logged (the window the README names).
 */
async function keepAcceptance(
  messageId: string,
  accepted: Acceptance,
  deps: SenderDeps,
  now: number,
  log: ScopedLogger,
  cause: unknown,
): Promise<void> {
  log.warn('could not record sent; keeping the acceptance apart', { error: cause as Error });
  try {
    await putAcceptance(messageId, accepted, now);
    return;
  } catch (error) {
    log.warn('could not store the acceptance item; handing it to the queue', { error: error as Error });
  }
  try {
    if (deps.requeue) {
      await deps.requeue({ id: messageId, accepted });
      return;
    }
  } catch (error) {
    log.error('could not queue the acceptance either', { error: error as Error });
  }
  log.error('provider acceptance not recorded anywhere; a redelivery after the lease may send again', {
    message_id: messageId,
    provider: accepted.provider,
    provider_message_id: accepted.providerMessageId,
  });
}

/** A job carrying an acceptance: store it (a throw retries the job), then record `sent` on the message. */
async function applyAcceptedJob(id: string, accepted: Acceptance, now: number, log: ScopedLogger) {
  await putAcceptance(id, accepted, now);
  await recordSent(id, undefined, accepted, log);
  log.info('acceptance recorded from the queue', { provider: accepted.provider });
  return 'done' as const;
}

/** Handles one delivery of a send job. Never throws for provider trouble; the outcome says what to do. */
export async function processSendJob(
  job: SendJob,
  receiveCount: number,
  deps: SenderDeps,
): Promise<SendOutcome> {
  const outcome = await sendOnce(job, receiveCount, deps);
  (deps.metrics ?? platformMetrics).count(DispatchMetric.sendJobs, { outcome });
  return outcome;
}

async function sendOnce(job: SendJob, receiveCount: number, deps: SenderDeps): Promise<SendOutcome> {
  const metrics = deps.metrics ?? platformMetrics;
  const now = deps.now ?? Date.now;
  const log = scopedLogger({ message_id: job.id }, deps.log ?? logger);
  if (job.accepted) return applyAcceptedJob(job.id, job.accepted, now(), log);
  // Everything that can fail for reasons of our own happens before the claim, so it cannot strand one.
  const callbackUrl = await deps.callbackUrl(job.id);
  // The message's own writes are retried here when the table throttles them (short jittered backoff), before
  // the record goes back to the queue: in AWS a failed record only comes back after the visibility timeout
  // (minutes), and after SQS_MAX_RECEIVE_COUNT throttled receives it would sit in the DLQ, unsent.
  const claimed = await retryContention(() => claim(job.id, now(), deps.leaseMs));
  if ('outcome' in claimed) {
    log.info('send job needs no call', { outcome: claimed.outcome, receive_count: receiveCount });
    // A redelivery after the announcement of `sent`/`failed` failed (the error retried this record).
    const { current } = claimed;
    if (current?.id && current.status)
      await announceStatus({ ...current, id: current.id, status: current.status }, deps.statusCallbacks);
    return claimed.outcome;
  }
  const { message, token } = claimed;

  // A re-claim (an earlier attempt ended without a word: crashed, or its `sent` write was refused) first
  // looks for an acceptance that attempt kept apart: then it records `sent` and calls no provider.
  if ((message.attempts ?? 1) > 1) {
    const { data: kept } = await dispatchDb()
      .entities.acceptance.get({ messageId: message.id })
      .go({ consistent: true });
    if (kept) {
      await recordSent(message.id, token, kept, log);
      log.info('acceptance found on a re-claim; not sent again', { provider: kept.provider });
      await announceStatus({ ...message, status: 'sent' }, deps.statusCallbacks);
      return 'done';
    }
  }

  if (await isSuppressed(message.toNumber)) {
    const failed = await retryContention(() =>
      finish(message.id, token, new Date(now()).toISOString(), {
        status: 'failed',
        detail: 'the number was reported invalid; not sent',
      }),
    );
    if (failed) await announceStatus({ ...message, status: 'failed' }, deps.statusCallbacks);
    return 'suppressed';
  }

  const names = deps.weights.map((w) => w.name);
  const phases = await deps.breaker.phases(names, now()).catch((error: unknown) => {
    log.warn('breaker state unreadable; treating every provider as closed', { error: error as Error });
    return new Map<string, BreakerPhase>();
  });
  const order = providerOrder(deps.weights, (name) => phases.get(name) === 'open', deps.random);
  // A provider ramping back after an outage is the first choice only for its share of sends.
  const first = order[0];
  if (first !== undefined && order.length > 1 && deps.breaker.share) {
    const share = deps.breaker.share(first, now());
    if (share < 1 && (deps.random ?? Math.random)() >= share) order.push(order.shift() ?? first);
  }
  const byName = new Map(deps.providers.map((p) => [p.name, p]));
  const failures: string[] = [];

  for (const name of order) {
    const provider = byName.get(name);
    if (!provider) continue;
    const phase: BreakerPhase = phases.get(name) ?? 'closed';
    const probing = phase === 'half-open' ? await deps.breaker.tryProbe(name, now()).catch(() => true) : true;
    if (!probing) {
      failures.push(`${name} skipped (recovering; another sender is probing it)`);
      continue;
    }
    const calledAt = Date.now();
    const result = await provider.send({ toNumber: message.toNumber, message: message.message, callbackUrl });
    metrics.durationMs(DispatchMetric.providerLatency, Date.now() - calledAt, {
      provider: name,
      outcome: result.kind,
    });
    if (result.kind === 'accepted') {
      metrics.count(DispatchMetric.sent, { provider: name });
      if (failures.length > 0) metrics.count(DispatchMetric.failover, { provider: name });
      const accepted = {
        provider: name,
        providerMessageId: result.messageId,
        at: new Date(now()).toISOString(),
      };
      // Not retried in place: a throttled `sent` write goes straight to another partition (keepAcceptance).
      await recordSent(message.id, token, accepted, log).catch((error: unknown) =>
        keepAcceptance(message.id, accepted, deps, now(), log, error),
      );
      // After the write, so the consumer reads it; an error here retries the record, which announces again.
      await announceStatus({ ...message, status: 'sent' }, deps.statusCallbacks);
      await deps.breaker.recordSuccess(name, now()).catch((error: unknown) => {
        log.warn('breaker update failed', { provider: name, error: error as Error });
      });
      log.info('message sent', { provider: name, provider_message_id: result.messageId });
      return 'sent';
    }
    failures.push(`${name} ${result.detail}`);
    log.warn('provider call failed', { provider: name, kind: result.kind, detail: result.detail });
    if (result.kind === 'unavailable') {
      await deps.breaker.recordFailure(name, now()).catch((error: unknown) => {
        log.warn('breaker update failed', { provider: name, error: error as Error });
      });
    }
  }

  const at = new Date(now()).toISOString();
  const summary = failures.join('; ') || 'no provider configured';
  if (receiveCount >= deps.maxReceiveCount) {
    const failed = await retryContention(() =>
      finish(message.id, token, at, {
        status: 'failed',
        detail: `all providers failed on the last attempt (${receiveCount}): ${summary}`,
      }),
    );
    if (failed)
      await announceStatus({ ...message, status: 'failed' }, deps.statusCallbacks).catch((error: unknown) =>
        // The record goes to the DLQ either way; its redrive resends the message, whose later statuses follow.
        log.error('could not announce the failed status', { error: error as Error }),
      );
    log.error('message failed for good; moving to the DLQ', { receive_count: receiveCount, failures });
    return 'failed';
  }
  await retryContention(() =>
    finish(message.id, token, at, {
      status: 'sending',
      detail: `attempt ${receiveCount} failed, will retry: ${summary}`,
    }),
  );
  return 'retry';
}
