import { uuid } from '@svc/platform';
import * as v from 'valibot';
import { STATUSES } from './entities.js';

export const RequestPath = v.object({ id: uuid('id') });

const MAX_DESCRIPTION = 4000;

export const AssistanceInput = v.object({
  topic: v.pipe(
    v.string('topic must be a string'),
    v.trim(),
    v.minLength(1, 'topic must not be empty'),
    v.maxLength(100, 'topic must be at most 100 characters'),
  ),
  // Counted in characters (code points), not UTF-16 units, so emoji count once.
  description: v.pipe(
    v.string('description must be a string'),
    v.check((s) => s.trim().length > 0, 'description must not be empty'),
    v.check(
      (s) => [...s].length <= MAX_DESCRIPTION,
      `description must be at most ${MAX_DESCRIPTION} characters`,
    ),
  ),
});
export type AssistanceInput = v.InferOutput<typeof AssistanceInput>;

export const AcceptedRequest = v.object({
  id: v.string(),
  topic: v.string(),
  channel: v.string(),
  status: v.literal('queued'),
  created_at: v.string(),
});
export type AcceptedRequest = v.InferOutput<typeof AcceptedRequest>;

export const AssistanceRequest = v.object({
  id: v.string(),
  topic: v.string(),
  channel: v.string(),
  status: v.picklist(STATUSES),
  attempts: v.number(),
  delivered_at: v.nullable(v.string()),
});
export type AssistanceRequest = v.InferOutput<typeof AssistanceRequest>;

/** The SQS message body a channel's queue carries: the id only; the request itself is in the table. */
export const DeliveryMessage = v.object({
  requestId: uuid('requestId'),
  channel: v.string(),
});
export type DeliveryMessage = v.InferOutput<typeof DeliveryMessage>;
