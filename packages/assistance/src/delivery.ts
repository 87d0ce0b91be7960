import { randomUUID } from 'node:crypto';
import { isConditionFailure, logger, metrics } from '@svc/platform';
import type { ChannelSender, DeliveryOutcome } from './channels/index.js';
import { type AssistanceRequestItem, assistanceDb } from './entities.js';
import { AssistanceMetric } from './metrics.js';
import type { Enqueue } from './queues.js';
import type { Destination } from './rules.js';

export interface DeliveryDeps {
  /** The channel type this consumer delivers through. */
  channel: string;
  sender: ChannelSender<unknown>;
  /** Hands the request to another channel's queue (the fallback). */
  enqueue: Enqueue;
  /** The receive that is the last attempt (the queue's maxReceiveCount). */
  maxReceiveCount: number;
  now?: () => number;
  log?: Pick<typeof logger, 'info' | 'warn' | 'error'>;
}

/** One receipt of one SQS message. */
export interface Attempt {
  requestId: string;
  receiveCount: number;
  /** How long this invocation may still run; a claim outlives it so a live sender is never overtaken. */
  remainingMs: number;
}

export type DeliveryResult =
  | { kind: 'done'; status: 'delivered' | 'failed' | 'fallback' | 'skipped'; reason?: string }
  /** Leave the message on the queue; `afterSeconds` asks for a longer invisibility (Retry-After). */
  | { kind: 'retry'; reason: string; afterSeconds?: number };

/** Slack between the end of the invocation and the claim being treated as abandoned. */
const CLAIM_MARGIN_MS = 5_000;
const CLAIM_FIELDS = ['claimToken', 'claimExpiresAt'] as const;

const done = (
  status: Extract<DeliveryResult, { kind: 'done' }>['status'],
  reason?: string,
): DeliveryResult => ({
  kind: 'done',
  status,
  ...(reason ? { reason } : {}),
});

/**
 * Delivers one request through this consumer's channel, at most once per request:
 *
 * 1. Claim it with a conditional write (queued, on this channel, unclaimed) that also counts the attempt.
 *    A redelivered message for a delivered or failed request, or one for a channel the request has left,
 *    finds nothing to do.
 * 2. Send. A definite failure releases the claim (retry) or, on the last attempt or a permanent error,
 *    hands over to the rule's fallback once, else marks it failed.
 * 3. Record delivered on condition we still hold the claim.
 *
 * A claim that outlived its invocation means that invocation died between sending and recording, so
 * the request may already have been delivered: it is marked failed (`outcome_unknown`) and never resent.
 */
export async function deliver(deps: DeliveryDeps, attempt: Attempt): Promise<DeliveryResult> {
  const result = await deliverOnce(deps, attempt);
  const outcome = result.kind === 'retry' ? 'retry' : result.status;
  metrics.count(AssistanceMetric.deliveries, { channel: deps.channel, outcome });
  if (outcome === 'fallback') metrics.count(AssistanceMetric.fallbacks, { channel: deps.channel });
  return result;
}

async function deliverOnce(deps: DeliveryDeps, attempt: Attempt): Promise<DeliveryResult> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? logger;
  const entity = assistanceDb().entities.request;
  const { requestId } = attempt;
  const { data: request } = await entity.get({ requestId }).go({ consistent: true });

  if (!request) {
    log.warn('no such assistance request; dropping the message', { requestId });
    return done('skipped', 'unknown request');
  }
  if (request.status !== 'queued') return done('skipped', `already ${request.status}`);
  if (request.channel !== deps.channel) {
    // Our channel gave up on it earlier; if the fallback's message may not have gone out, send it now.
    if (request.fallbackPending && request.fallbackFrom === deps.channel) {
      await queueFallback(deps, request);
      return done('fallback');
    }
    return done('skipped', `now on channel ${request.channel}`);
  }

  const token: string = randomUUID();
  try {
    await entity
      .patch({ requestId })
      .set({ claimToken: token, claimExpiresAt: now() + attempt.remainingMs + CLAIM_MARGIN_MS })
      .add({ attempts: 1 })
      .remove(['fallbackPending'])
      .where(
        ({ status, channel, claimToken }, { eq, notExists }) =>
          `${eq(status, 'queued')} AND ${eq(channel, deps.channel)} AND ${notExists(claimToken)}`,
      )
      .go();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return claimLost(deps, requestId);
  }

  let outcome: DeliveryOutcome;
  try {
    outcome = await deps.sender.send(
      {
        id: request.requestId,
        topic: request.topic,
        description: request.description,
        createdAt: request.createdAt,
      },
      request.settings ?? {},
    );
  } catch (error) {
    // Senders report delivery problems as outcomes; a throw is a bug at an unknown point of the send.
    outcome = { kind: 'unknown', reason: `sender threw: ${(error as Error)?.message ?? String(error)}` };
  }

  switch (outcome.kind) {
    case 'sent': {
      await entity
        .patch({ requestId })
        .set({ status: 'delivered', deliveredAt: new Date(now()).toISOString() })
        .remove([...CLAIM_FIELDS])
        .where(({ claimToken }, { eq }) => eq(claimToken, token))
        .go()
        .catch((error: unknown) => {
          // Only possible if this invocation outlived its own claim; the send already happened.
          log.error('delivered but could not record it', { error: error as Error, requestId });
          if (!isConditionFailure(error)) throw error;
        });
      log.info('assistance request delivered', { requestId, channel: deps.channel });
      return done('delivered');
    }
    case 'unknown': {
      log.error('delivery outcome unknown; not resending', {
        requestId,
        channel: deps.channel,
        reason: outcome.reason,
      });
      await markFailed(requestId, token, 'outcome_unknown', outcome.reason);
      return done('failed', outcome.reason);
    }
    case 'permanent':
      log.warn('delivery failed permanently', { requestId, channel: deps.channel, reason: outcome.reason });
      return giveUp(deps, request, token, outcome.reason);
    case 'retry': {
      if (attempt.receiveCount >= deps.maxReceiveCount) {
        log.warn('delivery failed on the last attempt', {
          requestId,
          channel: deps.channel,
          reason: outcome.reason,
        });
        return giveUp(deps, request, token, outcome.reason);
      }
      await entity
        .patch({ requestId })
        .set({ lastError: outcome.reason.slice(0, 500) })
        .remove([...CLAIM_FIELDS])
        .where(({ claimToken }, { eq }) => eq(claimToken, token))
        .go();
      return {
        kind: 'retry',
        reason: outcome.reason,
        ...(outcome.afterSeconds !== undefined ? { afterSeconds: outcome.afterSeconds } : {}),
      };
    }
  }
}

/** The claim write did not hold: find out why from the current item. */
async function claimLost(deps: DeliveryDeps, requestId: string): Promise<DeliveryResult> {
  const now = deps.now ?? Date.now;
  const { data: current } = await assistanceDb().entities.request.get({ requestId }).go({ consistent: true });
  if (current?.status !== 'queued' || current.channel !== deps.channel || !current.claimToken) {
    return done('skipped', current ? `already ${current.status}` : 'unknown request');
  }
  const expiresAt = current.claimExpiresAt ?? 0;
  if (now() < expiresAt) {
    // Another invocation is sending right now (a duplicate message): look again once it has certainly ended.
    return {
      kind: 'retry',
      reason: 'delivery in progress elsewhere',
      afterSeconds: Math.ceil((expiresAt - now()) / 1000),
    };
  }
  (deps.log ?? logger).error('a delivery attempt ended between sending and recording; not resending', {
    requestId,
    channel: deps.channel,
  });
  await markFailed(requestId, current.claimToken, 'outcome_unknown', 'an earlier attempt ended mid-send');
  return done('failed', 'outcome_unknown');
}

async function markFailed(requestId: string, token: string, reason: string, lastError: string) {
  await assistanceDb()
    .entities.request.patch({ requestId })
    .set({ status: 'failed', failureReason: reason, lastError: lastError.slice(0, 500) })
    .remove([...CLAIM_FIELDS])
    .where(({ claimToken }, { eq }) => eq(claimToken, token))
    .go()
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

/** Failed for good on this channel: switch to the rule's fallback once, else the request failed. */
async function giveUp(
  deps: DeliveryDeps,
  request: AssistanceRequestItem,
  token: string,
  reason: string,
): Promise<DeliveryResult> {
  const fallback = request.fallback as Destination | undefined;
  if (!fallback || request.fallbackFrom) {
    await markFailed(request.requestId, token, 'delivery_failed', reason);
    return done('failed', reason);
  }
  await assistanceDb()
    .entities.request.patch({ requestId: request.requestId })
    .set({
      channel: fallback.channel,
      settings: fallback.settings,
      fallbackFrom: deps.channel,
      fallbackPending: true,
      lastError: reason.slice(0, 500),
    })
    .remove([...CLAIM_FIELDS])
    .where(({ claimToken }, { eq }) => eq(claimToken, token))
    .go();
  await queueFallback(deps, { requestId: request.requestId, channel: fallback.channel });
  return done('fallback', reason);
}

/** Queues the fallback's message; a failure throws so this message comes back and tries again. */
async function queueFallback(deps: DeliveryDeps, request: { requestId: string; channel: string }) {
  await deps.enqueue({ requestId: request.requestId, channel: request.channel });
  (deps.log ?? logger).info('handed over to the fallback channel', request);
  // Duplicates of the fallback message are harmless (the claim stops them), so clearing is best effort.
  await assistanceDb()
    .entities.request.patch({ requestId: request.requestId })
    .remove(['fallbackPending'])
    .where(({ status, channel }, { eq }) => `${eq(status, 'queued')} AND ${eq(channel, request.channel)}`)
    .go()
    .catch(() => undefined);
}
