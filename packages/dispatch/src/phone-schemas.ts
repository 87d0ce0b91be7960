// The schemas that parse a phone number (libphonenumber's full metadata, ~250 KiB in a bundle): only the
// routes that take one import this module (routes/send-message.ts, routes/list-messages.ts).
import { pageQuery } from '@svc/platform';
import * as v from 'valibot';
import { toE164 } from './phone.js';
import { countSegments, MAX_SEGMENTS } from './segments.js';

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

export const ListQuery = v.object({
  to_number: v.optional(phoneNumber('to_number')),
  ...pageQuery,
});
