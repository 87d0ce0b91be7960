// The dispatch schemas no route needs a phone number for. The two that parse one (POST /messages, GET /messages
// ?to_number=) are in phone-schemas.ts, so GET /messages/{id} and the delivery callback do not load
// libphonenumber's metadata (README Decisions, issue 20).
import { uuid } from '@svc/platform';
import * as v from 'valibot';
import { MESSAGE_STATUSES } from './statuses.js';

export const MessagePath = v.object({ id: uuid('id') });

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
