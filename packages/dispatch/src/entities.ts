import { dynamo } from '@svc/platform';
import { Entity, type EntityItem, Service } from 'electrodb';
import { MESSAGE_STATUSES } from './statuses.js';

/**
 * One SMS. Its own partition (get by id is one GetItem); `gsi1` lists a number's messages and `gsi2`
 * all messages, both newest first by `createdAt#id`. The claim fields (`claimToken`, `claimExpiresAt`)
 * are the sender's lease: only the holder may record the provider's answer.
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
    /** Constant partition of the all-messages index. */
    feed: { type: 'string', default: 'all', readOnly: true },
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
    recent: {
      index: 'gsi2',
      pk: { field: 'gsi2pk', composite: ['feed'] },
      sk: { field: 'gsi2sk', composite: ['createdAt', 'id'] },
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
    { message: MessageEntity, suppression: SuppressionEntity, breaker: BreakerEntity },
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
