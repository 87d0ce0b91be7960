import { dynamo } from '@svc/platform';
import { Entity, type EntityItem, Service } from 'electrodb';
import { MESSAGE_STATUSES } from './statuses.js';

/**
 * One SMS. Its own partition (get by id is one GetItem); `gsi1` lists a number's messages newest first by
 * `createdAt#id` (one number's own partition, bounded by the per-number limit). The list of every message is
 * not an index of this item: it is the write-once {@link FeedEntity} (see the README, "Listing"). The claim
 * fields (`claimToken`, `claimExpiresAt`) are the sender's lease: only the holder may record the provider's
 * answer.
 */
export const MessageEntity = new Entity({
  model: { service: 'dispatch', entity: 'message', version: '1' },
  attributes: {
    id: { type: 'string', required: true, readOnly: true },
    toNumber: { type: 'string', required: true, readOnly: true },
    message: { type: 'string', required: true, readOnly: true },
    segments: { type: 'number', required: true, readOnly: true },
    encoding: { type: ['GSM-7', 'UCS-2'] as const, required: true, readOnly: true },
    createdAt: { type: 'string', required: true, readOnly: true },
    createdBy: { type: 'string', readOnly: true },
    status: { type: MESSAGE_STATUSES, required: true },
    updatedAt: { type: 'string', required: true },
    history: {
      type: 'list',
      required: true,
      items: {
        type: 'map',
        properties: {
          status: { type: MESSAGE_STATUSES, required: true },
          at: { type: 'string', required: true },
          provider: { type: 'string' },
          detail: { type: 'string' },
        },
      },
    },
    /** Set once a provider accepted the message: from then on no sender may hand it over again. */
    provider: { type: 'string' },
    providerMessageId: { type: 'string' },
    attempts: { type: 'number' },
    claimToken: { type: 'string' },
    /** Epoch milliseconds; a `sending` message whose lease passed may be claimed again. */
    claimExpiresAt: { type: 'number' },
    /** Where status changes are POSTed (SPEC §5), checked against the URL rules when it was given. */
    statusCallbackUrl: { type: 'string', readOnly: true },
    /** The status-callback sync's lease: one sync per message at a time, so callbacks go out in order. */
    callbackLeaseToken: { type: 'string' },
    /** Epoch milliseconds. */
    callbackLeaseUntil: { type: 'number' },
    /** Callback events the receiver acknowledged (or that were skipped as older than one it has). */
    callbacksDone: { type: 'list', items: { type: 'string' } },
    /** Each callback attempt's outcome (newest kept), shown in the history entry's `detail`. */
    callbackLog: {
      type: 'list',
      items: {
        type: 'map',
        properties: {
          event: { type: 'string', required: true },
          at: { type: 'string', required: true },
          outcome: { type: 'string', required: true },
        },
      },
    },
    /**
     * Legacy: the constant partition (`all`) of the old all-messages index gsi2, rewritten on every status
     * change. New messages never set it (so they are not in gsi2); items written before the feed shards
     * keep it until the backfill (`feed-backfill.ts`) moves them, and the list reads gsi2 until then.
     * New messages get `shards`, which the index's condition leaves out of gsi2.
     */
    feed: { type: 'string', default: 'shards', readOnly: true },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['id'] },
      sk: { field: 'sk', composite: [] },
    },
    byNumber: {
      index: 'gsi1',
      pk: { field: 'gsi1pk', composite: ['toNumber'] },
      sk: { field: 'gsi1sk', composite: ['createdAt', 'id'] },
    },
    /** Legacy, sparse: only messages written before the feed shards (see `feed`). */
    legacyRecent: {
      index: 'gsi2',
      // Sparse: keys only for an item with `feed='all'` (written before the feed shards); new ones have `shards`.
      condition: (attrs) => attrs.feed === 'all',
      pk: { field: 'gsi2pk', composite: ['feed'] },
      sk: { field: 'gsi2sk', composite: ['createdAt', 'id'] },
    },
  },
});

/** Write shards of the all-messages feed: 16 partitions take 16,000 messages/s at 1 WCU per message. */
export const FEED_SHARDS = 16;

/** The feed shard of a message: from its id, so anyone (the backfill too) finds the same one. */
export function feedShard(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(-6), 16) % FEED_SHARDS;
}

/**
 * One message's entry in the all-messages feed: written once, when the message is stored, and never
 * again (its status lives on the message), on one of {@link FEED_SHARDS} base-table partitions. A small
 * item (~120 bytes, 1 WCU). The list merges the shards newest first by `createdAt#id`.
 */
export const FeedEntity = new Entity({
  model: { service: 'dispatch', entity: 'feed', version: '1' },
  attributes: {
    shard: { type: 'number', required: true, readOnly: true },
    createdAt: { type: 'string', required: true, readOnly: true },
    id: { type: 'string', required: true, readOnly: true },
  },
  indexes: {
    byShard: {
      pk: { field: 'pk', composite: ['shard'] },
      sk: { field: 'sk', composite: ['createdAt', 'id'] },
    },
  },
});

/**
 * A provider's acceptance of a message, kept apart from the message item (its own partition), written
 * when recording `sent` on the message failed (e.g. throttled): a later claim of the message finds it and
 * records `sent` instead of handing the message to a provider again.
 */
export const AcceptanceEntity = new Entity({
  model: { service: 'dispatch', entity: 'acceptance', version: '1' },
  attributes: {
    messageId: { type: 'string', required: true, readOnly: true },
    provider: { type: 'string', required: true, readOnly: true },
    providerMessageId: { type: 'string', required: true, readOnly: true },
    at: { type: 'string', required: true, readOnly: true },
    /** Epoch seconds (table TTL): long after any redelivery or replay of the message could come. */
    expiresAt: { type: 'number', required: true, readOnly: true },
  },
  indexes: {
    byMessage: {
      pk: { field: 'pk', composite: ['messageId'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

/** A number a provider reported `invalid`: every later send to it is refused. */
export const SuppressionEntity = new Entity({
  model: { service: 'dispatch', entity: 'suppression', version: '1' },
  attributes: {
    toNumber: { type: 'string', required: true, readOnly: true },
    reason: { type: 'string', required: true },
    messageId: { type: 'string', required: true },
    provider: { type: 'string' },
    createdAt: { type: 'string', required: true },
  },
  indexes: {
    byNumber: {
      pk: { field: 'pk', composite: ['toNumber'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

/**
 * Circuit breaker state of one provider, shared by every sender instance.
 * `openUntil` and `probeUntil` are epoch milliseconds.
 */
export const BreakerEntity = new Entity({
  model: { service: 'dispatch', entity: 'breaker', version: '1' },
  attributes: {
    provider: { type: 'string', required: true, readOnly: true },
    failures: { type: 'number' },
    openUntil: { type: 'number' },
    probeUntil: { type: 'number' },
    /** When it last closed after being open: the start of the provider's ramp back to full traffic. */
    closedAt: { type: 'number' },
    updatedAt: { type: 'string' },
  },
  indexes: {
    byProvider: {
      pk: { field: 'pk', composite: ['provider'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

let service: ReturnType<typeof createService> | undefined;

function createService() {
  const { client, table } = dynamo();
  return new Service(
    {
      message: MessageEntity,
      feed: FeedEntity,
      acceptance: AcceptanceEntity,
      suppression: SuppressionEntity,
      breaker: BreakerEntity,
    },
    { client, table },
  );
}

/** The dispatch ElectroDB service, bound to the shared client on first use (once per container). */
export function dispatchDb() {
  service ??= createService();
  return service;
}

export type MessageItem = EntityItem<typeof MessageEntity>;
export type HistoryEntry = MessageItem['history'][number];
export type FeedItem = EntityItem<typeof FeedEntity>;
export type AcceptanceItem = EntityItem<typeof AcceptanceEntity>;
