import { createHash } from 'node:crypto';
import { isConditionFailure } from '@svc/platform';
import type { EntityItem } from 'electrodb';
import type { TaskEventEntity } from './audit-entity.js';
import { tasksDb } from './entities.js';
import type { WebhookInput } from './schemas.js';

export type TaskEventItem = EntityItem<typeof TaskEventEntity>;
export type AuditOutcome = TaskEventItem['outcome'];

/** How long a delivery record is kept (the table's TTL); a stage setting, 90 days unless set. */
export interface AuditSettings {
  retentionDays: number;
}
export const DEFAULT_AUDIT: AuditSettings = { retentionDays: 90 };

/**
 * At most this many deliveries are served with a task (the newest by event timestamp). One entry is
 * about 120 bytes of JSON, so the trail stays far below Lambda's 6 MB response limit (~120 kB).
 */
export const MAX_TRAIL_EVENTS = 1000;

/**
 * A delivery's identity: what it says, not how it was sent (the timestamp is already normalised, so
 * `+01:00` and `Z` spellings of one instant are one delivery). A sender's retry is the same delivery.
 */
export function deliveryIdOf(input: WebhookInput): string {
  const { userId, id, content, isCompleted } = input.metadata;
  return createHash('sha256')
    .update(JSON.stringify([input.event, input.timestamp, userId, id, content, isCompleted]))
    .digest('base64url');
}

/** The audit record of one delivery with the outcome it had. */
export function auditRecord(
  input: WebhookInput,
  outcome: AuditOutcome,
  now: Date,
  settings: AuditSettings,
): TaskEventItem {
  return {
    taskId: input.metadata.id,
    deliveryId: deliveryIdOf(input),
    userId: input.metadata.userId,
    event: input.event,
    timestamp: input.timestamp,
    receivedAt: now.toISOString(),
    applied: outcome === 'applied',
    outcome,
    payload: JSON.stringify(input),
    expiresAt: Math.floor(now.getTime() / 1000) + settings.retentionDays * 86_400,
  };
}

/**
 * Records a delivery that changed nothing (stale, a repeat, or rejected with 404/409). Written only if
 * this delivery has no record yet: a retry is not recorded twice, and a delivery already recorded as
 * applied keeps that record.
 */
export async function recordNotApplied(
  input: WebhookInput,
  outcome: Exclude<AuditOutcome, 'applied'>,
  now: Date,
  settings: AuditSettings,
): Promise<void> {
  try {
    await tasksDb()
      .entities.taskEvent.create(auditRecord(input, outcome, now, settings))
      .go();
  } catch (error) {
    // Already recorded (the item exists): that record stands.
    if (isConditionFailure(error)) return;
    throw error;
  }
}

/** A task's audit trail, oldest event first: the newest MAX_TRAIL_EVENTS deliveries. */
export async function trailOf(taskId: string, max = MAX_TRAIL_EVENTS) {
  const { data } = await tasksDb()
    .entities.taskEvent.query.byTask({ taskId })
    .go({
      order: 'desc',
      count: max,
      pages: 'all',
      attributes: ['event', 'timestamp', 'receivedAt', 'applied', 'deliveryId'],
    });
  return data
    .reverse()
    .map((e) => ({ event: e.event, timestamp: e.timestamp, received_at: e.receivedAt, applied: e.applied }));
}
