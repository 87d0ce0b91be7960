import { dynamo } from '@svc/platform';
import { Entity, Service } from 'electrodb';

export const STATUSES = ['queued', 'delivered', 'failed'] as const;
export type RequestStatus = (typeof STATUSES)[number];

/**
 * One assistance request and its delivery state. The routing decision (channel, settings, fallback) is
 * copied in at request time, so a delivery follows the rule that answered the caller, not a later edit.
 * `claimToken`/`claimExpiresAt` mark a send in progress (see delivery.ts).
 */
export const AssistanceRequestEntity = new Entity({
  model: { service: 'assistance', entity: 'request', version: '1' },
  attributes: {
    requestId: { type: 'string', required: true, readOnly: true },
    /** The `sub` of the token that asked; only it may read the request. */
    ownerId: { type: 'string', required: true, readOnly: true },
    topic: { type: 'string', required: true, readOnly: true },
    description: { type: 'string', required: true, readOnly: true },
    createdAt: { type: 'string', required: true, readOnly: true },
    channel: { type: 'string', required: true },
    /** The channel's settings from the rule (an email rule's recipients). */
    settings: { type: 'any' },
    /** `{channel, settings}` of the rule's fallback, if it has one. */
    fallback: { type: 'any' },
    /** Set when the fallback took over: the channel that failed for good. */
    fallbackFrom: { type: 'string' },
    /** The fallback is chosen but its message may not be queued yet (a redelivery queues it). */
    fallbackPending: { type: 'boolean' },
    status: { type: STATUSES, required: true },
    attempts: { type: 'number', required: true },
    deliveredAt: { type: 'string' },
    failureReason: { type: 'string' },
    lastError: { type: 'string' },
    claimToken: { type: 'string' },
    /** Epoch milliseconds after which the claiming invocation is certainly over. */
    claimExpiresAt: { type: 'number' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['requestId'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

export type AssistanceRequestItem = NonNullable<
  Awaited<ReturnType<ReturnType<typeof AssistanceRequestEntity.get>['go']>>['data']
>;

let service: ReturnType<typeof createService> | undefined;

function createService() {
  const { client, table } = dynamo();
  return new Service({ request: AssistanceRequestEntity }, { client, table });
}

/** The assistance ElectroDB service, bound to the shared client on first use (once per container). */
export function assistanceDb() {
  service ??= createService();
  return service;
}
