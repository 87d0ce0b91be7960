import { pageQuery, uuid } from '@svc/platform';
import * as v from 'valibot';
import { toE164 } from './phone.js';
import { countSegments, MAX_SEGMENTS } from './segments.js';
import { MESSAGE_STATUSES } from './statuses.js';

const phoneNumber = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const e164 = toE164(dataset.value);
      if (e164) return e164;
      addIssue({ message: `${what} is not a valid phone number` });
      return NEVER;
    }),
  );

// 10 GSM-7 parts hold at most 1530 characters; anything longer cannot fit, so it is refused before counting.
const TOO_LONG = `message must fit in at most ${MAX_SEGMENTS} SMS segments`;

export const MessageInput = v.object({
  to_number: phoneNumber('to_number'),
  message: v.pipe(
    v.string('message must be a string'),
    v.minLength(1, 'message must not be empty'),
    v.maxLength(MAX_SEGMENTS * 160, TOO_LONG),
    v.check((text) => countSegments(text).segments <= MAX_SEGMENTS, TOO_LONG),
  ),
  /** Checked against the SPEC §0 URL rules (with DNS) by the domain, which knows the stage's policy. */
  status_callback_url: v.optional(
    v.pipe(
      v.string('status_callback_url must be a string'),
      v.maxLength(2048, 'status_callback_url must be at most 2048 characters'),
    ),
  ),
});
export type MessageInput = v.InferOutput<typeof MessageInput>;

export const MessagePath = v.object({ id: uuid('id') });

export const ListQuery = v.object({
  to_number: v.optional(phoneNumber('to_number')),
  ...pageQuery,
});

export const CallbackQuery = v.object({ token: v.optional(v.string()) });

export const DeliveryStatusInput = v.object({
  status: v.picklist(['delivered', 'failed', 'invalid'], 'status must be one of delivered, failed, invalid'),
  message_id: v.pipe(
    v.string('message_id must be a string'),
    v.minLength(1, 'message_id must not be empty'),
    v.maxLength(256, 'message_id is too long'),
  ),
});
export type DeliveryStatusInput = v.InferOutput<typeof DeliveryStatusInput>;

const Encoding = v.picklist(['GSM-7', 'UCS-2']);
const Status = v.picklist(MESSAGE_STATUSES);

/** 202 answer of POST /messages. */
export const AcceptedMessage = v.object({
  id: v.string(),
  to_number: v.string(),
  message: v.string(),
  status: v.literal('queued'),
  segments: v.number(),
  encoding: Encoding,
  created_at: v.string(),
});
export type AcceptedMessage = v.InferOutput<typeof AcceptedMessage>;

export const HistoryView = v.object({
  status: Status,
  at: v.string(),
  provider: v.optional(v.string()),
  detail: v.optional(v.string()),
});

export const MessageSummary = v.object({
  id: v.string(),
  to_number: v.string(),
  message: v.string(),
  status: Status,
  segments: v.number(),
  encoding: Encoding,
  provider: v.nullable(v.string()),
  provider_message_id: v.nullable(v.string()),
  created_at: v.string(),
  updated_at: v.string(),
});
export type MessageSummary = v.InferOutput<typeof MessageSummary>;

export const MessageView = v.object({
  ...MessageSummary.entries,
  /** Present when the sender asked for status callbacks; each callback's outcome is in `history[].detail`. */
  status_callback_url: v.optional(v.string()),
  history: v.array(HistoryView),
});
export type MessageView = v.InferOutput<typeof MessageView>;

export const MessagePage = v.object({ data: v.array(MessageSummary), next_cursor: v.nullable(v.string()) });

export const DeliveryStatusResult = v.object({ id: v.string(), status: Status, changed: v.boolean() });
