import { randomUUID } from 'node:crypto';
import {
  conditionFailureItem,
  encodeCursor,
  isConditionFailure,
  metrics,
  NotAuthenticated,
  NotFound,
  OLD_ITEM_ON_CONDITION_FAILURE,
  type Page,
  type RouteLimiter,
  readPosition,
  retryContention,
  ServiceUnavailable,
  SharedPages,
  ValidationFailed,
} from '@svc/platform';
import type { UrlCheck } from '@svc/platform/webhooks';
import { verifyCallbackToken } from './callback-token.js';
import { dispatchDb, type HistoryEntry, type MessageItem } from './entities.js';
import { addToFeed, feedPage } from './feed.js';
import { DispatchMetric } from './metrics.js';
import { DEFAULT_ALLOWED_COUNTRIES, destinationRefusal } from './phone.js';
import type { MessageInput } from './phone-schemas.js';
import type { MessageQueue } from './queue.js';
import type { AcceptedMessage, DeliveryStatusInput, MessageSummary, MessageView } from './schemas.js';
import { countSegments } from './segments.js';
import {
  announceStatus,
  callbackOutcomes,
  historyInOrder,
  type StatusCallbackQueue,
} from './status-callbacks.js';

const DEFAULT_COUNTRIES: ReadonlySet<string> = new Set(DEFAULT_ALLOWED_COUNTRIES);

export const SUPPRESSED_MESSAGE = 'was reported invalid by a provider; messages to it are refused';

export async function isSuppressed(toNumber: string): Promise<boolean> {
  const { data } = await dispatchDb().entities.suppression.get({ toNumber }).go();
  return data !== null;
}

export interface SubmitOptions {
  queue: MessageQueue;
  /** The caller's token subject, kept for audit (and the client the per-caller limit counts). */
  createdBy?: string | undefined;
  /** Destination countries the stage enables (SMS_ALLOWED_COUNTRIES); SPEC §5's US and CA when absent. */
  allowedCountries?: ReadonlySet<string>;
  now?: Date;
  /** The route's limiter (its declared limits, SPEC §5); the handler always passes it. */
  limits?: Pick<RouteLimiter, 'take'>;
  /** The SPEC §0 check of `status_callback_url` under the stage's policy (DNS included). */
  checkCallbackUrl?: (url: string) => Promise<UrlCheck>;
}

/** 422 under `errors.status_callback_url` for a URL the rules refuse; 503 when DNS itself is in trouble. */
async function acceptedCallbackUrl(input: MessageInput, options: SubmitOptions): Promise<string | undefined> {
  const url = input.status_callback_url;
  if (url === undefined) return undefined;
  if (!options.checkCallbackUrl)
    throw new ValidationFailed({ status_callback_url: ['is not accepted here'] });
  const check = await options.checkCallbackUrl(url);
  if (check.ok) return url;
  if ('unavailable' in check)
    throw new ServiceUnavailable('status_callback_url could not be checked; retry later.', 5);
  throw new ValidationFailed({ status_callback_url: [check.problem] });
}

/** The stage limits a send counts against, in the order they are taken (see `submitMessage`). */
export const SEND_LIMITS = {
  perCaller: 'messagesPerCaller',
  perDestination: 'messagesPerDestination',
  dailySegments: 'dailySegments',
} as const;

/**
 * Stores the message as `queued` and puts its id on the send queue. When the queue refuses, the stored
 * message is marked `failed` (it was never handed to anyone) and the caller gets a 503 to retry;
 * nothing is lost silently and nothing is sent twice.
 */
export async function submitMessage(input: MessageInput, options: SubmitOptions): Promise<AcceptedMessage> {
  // Destination policy before the suppression read: both are 422, and this one costs no round trip.
  const refusal = destinationRefusal(input.to_number, options.allowedCountries ?? DEFAULT_COUNTRIES);
  if (refusal) throw new ValidationFailed({ to_number: [refusal] });
  if (await isSuppressed(input.to_number)) {
    throw new ValidationFailed({ to_number: [SUPPRESSED_MESSAGE] });
  }
  const statusCallbackUrl = await acceptedCallbackUrl(input, options);
  const now = (options.now ?? new Date()).toISOString();
  const { segments, encoding } = countSegments(input.message);
  if (options.limits) {
    // SPEC §5: after validation and suppression (422), before anything is stored or queued. The caller's
    // own bucket first, so a caller over its rate costs one write and touches no shared counter; each
    // limit counts what reached it (a send refused by a later limit still used the earlier ones).
    await options.limits.take(SEND_LIMITS.perCaller, options.createdBy ?? 'anonymous');
    await options.limits.take(SEND_LIMITS.perDestination, input.to_number);
    await options.limits.take(SEND_LIMITS.dailySegments, 'stage', segments);
  }
  const id = randomUUID();
  const messages = dispatchDb().entities.message;
  // The feed entry first: if the message write then fails, the list passes over the entry; the other order
  // could leave a message no list shows.
  await addToFeed(id, now);
  await messages
    .create({
      id,
      toNumber: input.to_number,
      message: input.message,
      segments,
      encoding,
      createdAt: now,
      updatedAt: now,
      status: 'queued',
      history: [{ status: 'queued', at: now }],
      attempts: 0,
      ...(options.createdBy ? { createdBy: options.createdBy } : {}),
      ...(statusCallbackUrl ? { statusCallbackUrl } : {}),
    })
    .go();
  try {
    await options.queue.enqueue({ id });
  } catch (error) {
    const at = new Date().toISOString();
    await messages
      .patch({ id })
      .set({ status: 'failed', updatedAt: at })
      .append({ history: [{ status: 'failed', at, detail: 'could not be queued for sending; not sent' }] })
      .where((a, op) => op.eq(a.status, 'queued'))
      .go()
      .catch(() => undefined);
    throw new ServiceUnavailable('The message could not be queued; retry later.', 5, { cause: error });
  }
  metrics.count(DispatchMetric.accepted);
  return {
    id,
    to_number: input.to_number,
    message: input.message,
    status: 'queued',
    segments,
    encoding,
    created_at: now,
  };
}

/**
 * History in time order (a provider's callback may be recorded before the sender records `sent`), each
 * reportable entry's status-callback attempts appended to its `detail`.
 */
function orderedHistory(m: MessageItem): MessageView['history'] {
  const outcomes = callbackOutcomes(m);
  const keys = new Map<string, number>();
  return historyInOrder(m.history).map((h: HistoryEntry) => {
    let detail = h.detail;
    if (m.statusCallbackUrl && h.status !== 'queued' && h.status !== 'sending') {
      const n = (keys.get(h.status) ?? 0) + 1;
      keys.set(h.status, n);
      const lines = outcomes.get(`${h.status}#${n}`);
      const callback = `status callback: ${lines ? lines.join('; ') : 'pending'}`;
      detail = detail ? `${detail}; ${callback}` : callback;
    }
    return {
      status: h.status,
      at: h.at,
      ...(h.provider ? { provider: h.provider } : {}),
      ...(detail ? { detail } : {}),
    };
  });
}

function toSummary(m: MessageItem): MessageSummary {
  return {
    id: m.id,
    to_number: m.toNumber,
    message: m.message,
    status: m.status,
    segments: m.segments,
    encoding: m.encoding,
    provider: m.provider ?? null,
    provider_message_id: m.providerMessageId ?? null,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

export function toView(m: MessageItem): MessageView {
  return {
    ...toSummary(m),
    ...(m.statusCallbackUrl ? { status_callback_url: m.statusCallbackUrl } : {}),
    history: orderedHistory(m),
  };
}

export async function findMessage(id: string): Promise<MessageItem | undefined> {
  const { data } = await dispatchDb().entities.message.get({ id }).go({ consistent: true });
  return data ?? undefined;
}

export async function getMessage(id: string): Promise<MessageView> {
  const message = await findMessage(id);
  if (!message) throw new NotFound('Message not found.');
  return toView(message);
}

export interface ListOptions {
  toNumber?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A list cursor is the last (createdAt, id) returned: both list indexes sort by exactly that. */
const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

function positionOf(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  const position = readPosition(cursor, POSITION);
  return position && { createdAt: position[0], id: position[1] };
}

/**
 * Newest first: one Query on gsi1 (one number), or the feed shards merged (every message, see feed.ts).
 * The cursor is our own position, not DynamoDB's key, so a forged one is a 400 (never a 500) and one from
 * the other list still works.
 */
export async function listMessages(options: ListOptions): Promise<Page<MessageSummary>> {
  if (options.toNumber) return readMessages(options);
  // Every page of all messages is the same for every reader asking it: kept per container for
  // FEED_PAGE_CACHE_MS, so the feed shards see about one read a second per warm container and page (README).
  return feedPages.get(`${options.limit}|${options.cursor ?? ''}`, () => readMessages(options));
}

/** How long a container serves a page of all messages (no number filter) from memory. */
export const FEED_PAGE_CACHE_MS = 1000;
const feedPages = new SharedPages<Page<MessageSummary>>({ ttlMs: FEED_PAGE_CACHE_MS });

async function readMessages(options: ListOptions): Promise<Page<MessageSummary>> {
  const before = positionOf(options.cursor);
  const messages = dispatchDb().entities.message;
  const take = options.limit + 1;
  const page = { order: 'desc', limit: take, count: take } as const;
  let data: MessageItem[];
  if (options.toNumber) {
    const base = messages.query.byNumber({ toNumber: options.toNumber });
    data = (await (before ? base.lt(before) : base).go(page)).data;
  } else {
    data = await feedPage(before, take);
  }
  const items = data.slice(0, options.limit);
  const last = items.at(-1);
  return {
    data: items.map(toSummary),
    next_cursor: data.length > options.limit && last ? encodeCursor(`${last.createdAt}|${last.id}`) : null,
  };
}

export interface DeliveryStatusResult {
  id: string;
  status: MessageItem['status'];
  /** False for a duplicate or late callback: nothing was changed. */
  changed: boolean;
}

/**
 * A provider's report on a message our signed callback URL names. Statuses only move forward:
 * the update is conditional on the message being `sending` or `sent` and on the provider message id
 * matching the one recorded (or none recorded yet: the callback overtook the sender's own write).
 * `invalid` also suppresses the number for every later send.
 */
export async function applyDeliveryStatus(
  messageId: string,
  input: DeliveryStatusInput,
  now = new Date(),
  statusCallbacks?: StatusCallbackQueue,
): Promise<DeliveryStatusResult> {
  const db = dispatchDb();
  const message = await findMessage(messageId);
  const unknown = () => new NotFound('Unknown message_id.');
  if (!message) throw unknown();
  if (message.providerMessageId !== undefined && message.providerMessageId !== input.message_id)
    throw unknown();
  // Never accepted by a provider (queued, or failed before any provider took it): no provider can report on it.
  if (message.providerMessageId === undefined && message.status !== 'sending') throw unknown();

  const at = now.toISOString();
  let status = message.status;
  let changed = false;
  // A message already past `sent` cannot move: a repeated or late callback changes nothing, and the
  // read above already says so.
  if (status === 'sending' || status === 'sent') {
    try {
      await db.entities.message
        .patch({ id: messageId })
        .set({ status: input.status, providerMessageId: input.message_id, updatedAt: at })
        .append({
          history: [
            { status: input.status, at, ...(message.provider ? { provider: message.provider } : {}) },
          ],
        })
        .where(
          (a, op) =>
            `(${op.eq(a.status, 'sending')} OR ${op.eq(a.status, 'sent')}) AND ` +
            `(${op.notExists(a.providerMessageId)} OR ${op.eq(a.providerMessageId, input.message_id)})`,
        )
        .go({ params: OLD_ITEM_ON_CONDITION_FAILURE });
      status = input.status;
      changed = true;
      const provider = message.provider ?? 'unknown';
      metrics.count(DispatchMetric.delivery, { provider, outcome: input.status });
      if (input.status === 'delivered')
        metrics.durationMs(
          DispatchMetric.timeToDelivered,
          Math.max(0, now.getTime() - Date.parse(message.createdAt)),
          { provider },
        );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Another callback got there between the read and the write.
      const current =
        (conditionFailureItem(error) as Partial<MessageItem> | undefined) ?? (await findMessage(messageId));
      if (!current?.status || (current.providerMessageId ?? input.message_id) !== input.message_id)
        throw unknown();
      status = current.status;
    }
  }
  if (status === 'invalid' && input.status === 'invalid') {
    // Idempotent, and also done for a duplicate callback in case the first one stopped halfway.
    await db.entities.suppression
      .upsert({ toNumber: message.toNumber })
      .set({
        reason: 'reported invalid by a provider',
        messageId,
        createdAt: at,
        ...(message.provider ? { provider: message.provider } : {}),
      })
      .go();
  }
  // Also for a duplicate: a provider retrying after our 503 (the announcement failed) completes it.
  await announceStatus(
    { id: messageId, status, statusCallbackUrl: message.statusCallbackUrl },
    statusCallbacks,
  );
  return { id: messageId, status, changed };
}

/** The callback route: the token must have been made with our secret for the message it names. */
export async function receiveDeliveryStatus(
  token: string | undefined,
  secret: string,
  input: DeliveryStatusInput,
  now = new Date(),
  statusCallbacks?: StatusCallbackQueue,
): Promise<DeliveryStatusResult> {
  const messageId = verifyCallbackToken(secret, token);
  if (!messageId) throw new NotAuthenticated('Missing or invalid callback token.');
  // A throttled message item (its own partition, busy for a moment) is retried here with a short jittered
  // backoff before answering 503: a provider that does not retry its callback would leave the message `sent`
  // for good. Safe to repeat: a repeated status changes nothing and only announces again.
  return retryContention(() => applyDeliveryStatus(messageId, input, now, statusCallbacks));
}
