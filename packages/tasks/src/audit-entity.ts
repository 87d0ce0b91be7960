import { Entity } from 'electrodb';

/**
 * One webhook delivery in a task's audit trail (SPEC §2), applied or not. It lives in the task's own
 * partition (the same `pk` as the task item), so a task's history is one Query and no key is shared
 * between tasks or users (SPEC §8).
 *
 * The sort key is the event's timestamp plus the delivery's identity, both derived from the payload,
 * so a retried identical delivery lands on the same item: it is written once (a conditional put in the
 * same transaction as the task change it applied, or a create-if-absent when it changed nothing).
 */
export const TaskEventEntity = new Entity({
  model: { service: 'tasks', entity: 'taskEvent', version: '1' },
  attributes: {
    taskId: { type: 'string', required: true },
    /** sha256 of what the delivery says (event, timestamp, userId, id, content, isCompleted). */
    deliveryId: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    event: { type: 'string', required: true },
    /** The payload's timestamp, normalised to UTC with milliseconds. */
    timestamp: { type: 'string', required: true },
    /** Server time the delivery that decided this record's outcome was received. */
    receivedAt: { type: 'string', required: true },
    applied: { type: 'boolean', required: true },
    /** Why: `applied`, `stale` (older than the last applied event), `repeat` (no change), `rejected` (404/409). */
    outcome: { type: ['applied', 'stale', 'repeat', 'rejected'] as const, required: true },
    /** The delivery's validated body as JSON, for auditing (not served by the API). */
    payload: { type: 'string', required: true },
    /** Epoch seconds: the table's TTL attribute, from the stage's audit retention. */
    expiresAt: { type: 'number', required: true },
  },
  indexes: {
    byTask: {
      pk: { field: 'pk', composite: ['taskId'], casing: 'none' },
      sk: { field: 'sk', composite: ['timestamp', 'deliveryId'], casing: 'none' },
    },
  },
});
