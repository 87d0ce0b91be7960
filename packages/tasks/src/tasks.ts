import { createHash } from 'node:crypto';
import { BadRequest, Conflict, metrics, NotFound, retryContention, transactionCodes } from '@svc/platform';
import type { EntityItem } from 'electrodb';
import { type AuditSettings, auditRecord, DEFAULT_AUDIT, recordNotApplied } from './audit.js';
import { markActivity, markOpen } from './candidates.js';
import { recordChange } from './carry-forward.js';
import { type TaskEntity, tasksDb } from './entities.js';
import { TasksMetric } from './metrics.js';
import { WEBHOOK_EVENTS, type WebhookEventName, type WebhookInput } from './schemas.js';

type TaskItem = EntityItem<typeof TaskEntity>;

export interface WebhookOutcome {
  /** False when the event was a redelivery, a repeat, or older than the task's last applied event. */
  applied: boolean;
}

const isEventName = (name: string): name is WebhookEventName =>
  (WEBHOOK_EVENTS as readonly string[]).includes(name);

/** Digest of what a `created` event says, so a redelivery is recognised byte-for-byte in meaning. */
function createdDigest(input: WebhookInput): string {
  const { userId, id, content, isCompleted } = input.metadata;
  return createHash('sha256')
    .update(JSON.stringify([input.timestamp, userId, id, content, isCompleted]))
    .digest('base64url');
}

const isOpen = (t: { isCompleted: boolean; deletedAt?: string | undefined } | undefined) =>
  t !== undefined && !t.isCompleted && !t.deletedAt;

/** The task after an `updated` or `deleted` event at `at` (the caller checked it is not stale). */
function next(current: TaskItem, input: WebhookInput, event: 'updated' | 'deleted'): TaskItem {
  if (event === 'deleted') return { ...current, deletedAt: input.timestamp, lastEventAt: input.timestamp };
  const { content, isCompleted } = input.metadata;
  // Completing sets completedAt to the event time; a repeat "still completed" keeps the first one.
  let completedAt: string | undefined;
  if (isCompleted)
    completedAt = current.isCompleted ? (current.completedAt ?? input.timestamp) : input.timestamp;
  return { ...current, content, isCompleted, completedAt, lastEventAt: input.timestamp };
}

/**
 * Applies one webhook event (SPEC §2). The task is read, the new state computed, and written whole
 * with a condition on the `lastEventAt` that was read (the report candidates are marked just before,
 * see candidates.ts). A concurrent writer makes the condition fail and the event is re-evaluated against the new
 * state, so ordering is decided by event timestamps, never by arrival order.
 */
export async function applyWebhookEvent(
  input: WebhookInput,
  now = new Date(),
  audit: AuditSettings = DEFAULT_AUDIT,
): Promise<WebhookOutcome> {
  if (!isEventName(input.event)) {
    throw new BadRequest('Unknown event.', { event: [`must be one of ${WEBHOOK_EVENTS.join(', ')}`] });
  }
  const event = input.event;
  const db = tasksDb();
  const { userId, id } = input.metadata;
  // Audit trail (audit.ts): a delivery that changes nothing is still recorded, once.
  const counted = (outcome: 'applied' | 'stale' | 'repeat' | 'rejected') =>
    metrics.count(TasksMetric.webhook(event), { outcome });
  const notApplied = async (outcome: 'stale' | 'repeat'): Promise<WebhookOutcome> => {
    await recordNotApplied(input, outcome, now, audit);
    counted(outcome);
    return { applied: false };
  };
  const rejected = async (error: Error): Promise<Error> => {
    await recordNotApplied(input, 'rejected', now, audit);
    counted('rejected');
    return error;
  };

  for (let attempt = 0; ; attempt++) {
    // The user's activity marker (what makes them a report candidate) is written beside the first read,
    // so it exists before any write of the task can: no applied event is ever without it.
    // So is the change record that lets the user's next report re-read this task (carry-forward.ts);
    // it takes the server's clock (the reports' `builtFrom` does too), whatever `now` a caller passes.
    const [{ data: current }] = await Promise.all([
      db.entities.task.get({ taskId: id }).go({ consistent: true }),
      attempt === 0 ? markActivity(userId, now) : undefined,
      attempt === 0 ? recordChange(userId, id) : undefined,
    ]);

    if (current && current.userId !== userId) {
      counted('rejected');
      throw new Conflict('This task id belongs to another user.', { 'metadata.userId': ['does not match'] });
    }
    if (event === 'created') {
      if (current) {
        if (current.createdDigest === createdDigest(input)) return notApplied('repeat');
        throw await rejected(new Conflict('A different task with this id was already created.'));
      }
    } else {
      if (!current) throw await rejected(new NotFound('Task not found.'));
      // Older than what was applied: accepted and ignored (ties apply; re-applying is idempotent).
      if (input.timestamp < current.lastEventAt) return notApplied('stale');
      if (current.deletedAt) {
        if (event === 'deleted') return notApplied('repeat');
        throw await rejected(new Conflict('The task was deleted.'));
      }
    }

    const after: TaskItem =
      event === 'created'
        ? {
            taskId: id,
            userId,
            content: input.metadata.content,
            isCompleted: input.metadata.isCompleted,
            createdAt: input.timestamp,
            completedAt: input.metadata.isCompleted ? input.timestamp : undefined,
            lastEventAt: input.timestamp,
            completionKey: input.timestamp,
            createdDigest: createdDigest(input),
          }
        : next(current as TaskItem, input, event);
    after.completionKey = after.completedAt ?? after.createdAt;
    // A task left open also puts the user in the open set (so later windows find them before a report
    // has), beside the write. Both are plain idempotent puts outside the transaction: a user's concurrent
    // events never conflict on them (issue 16: no per-user item in the webhook transaction).
    const marking = isOpen(after) ? markOpen(userId, now) : undefined;

    const [written] = await Promise.all([
      retryContention(async () => {
        const outcome = await db.transaction
          .write(({ task, taskEvent }) => [
            current
              ? task
                  .put(after)
                  .where(
                    (a, op) =>
                      `${op.eq(a.lastEventAt, current.lastEventAt)} AND ${op.lte(a.lastEventAt, input.timestamp)}`,
                  )
                  .commit()
              : task.create(after).commit(),
            // The delivery's record, in the same transaction as its effect; refused when this delivery
            // was already applied (a retry), which cancels the whole write.
            taskEvent
              .put(auditRecord(input, 'applied', now, audit))
              .where((a, op) => `${op.notExists(a.deliveryId)} OR ${op.eq(a.applied, false)}`)
              .commit(),
          ])
          .go();
        const codes = transactionCodes(outcome);
        if (!codes) return true;
        if (codes[1] === 'ConditionalCheckFailed') return 'already-applied' as const;
        if (codes[0] === 'ConditionalCheckFailed') return false;
        throw new Error(`unexpected cancellation: ${codes.join(',')}`);
      }),
      marking,
    ]);
    if (written === 'already-applied') {
      counted('repeat');
      return { applied: false };
    }
    if (written) {
      counted('applied');
      return { applied: true };
    }
    // Someone else changed the task between our read and write: decide again on the fresh state.
    if (attempt >= 10) throw new Conflict('Too many concurrent changes to this task, retry later.');
  }
}

export async function getTask(taskId: string) {
  const { data } = await tasksDb().entities.task.get({ taskId }).go({ consistent: true });
  return data ?? undefined;
}
