import { sendJson } from '@svc/platform/queues';
import * as v from 'valibot';
import type { StatusCallbackJob, StatusCallbackQueue } from './status-callbacks.js';

/**
 * The body of a `dispatch-send` SQS message: only the id; the message itself lives in the table. A job with
 * `accepted` carries a provider's acceptance the sender could not record in the table (it was throttling):
 * it is recorded from the queue and the message is never handed to a provider again.
 */
export const SendJob = v.object({
  id: v.pipe(v.string(), v.uuid()),
  accepted: v.optional(
    v.object({
      provider: v.pipe(v.string(), v.minLength(1)),
      providerMessageId: v.pipe(v.string(), v.minLength(1)),
      at: v.pipe(v.string(), v.isoTimestamp()),
    }),
  ),
});
export type SendJob = v.InferOutput<typeof SendJob>;

/** Port: hands a stored message to the sender. */
export interface MessageQueue {
  enqueue(job: SendJob): Promise<void>;
}

export function sqsMessageQueue(queueUrl: string): MessageQueue {
  return { enqueue: (job) => sendJson(queueUrl, job) };
}

/** A record body that is not a SendJob (poison) is undefined. */
export function parseSendJob(body: string): SendJob | undefined {
  try {
    const parsed = v.safeParse(SendJob, JSON.parse(body));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** The `dispatch-status-callbacks` queue: `{id}` of a message whose status changed. */
export function sqsStatusCallbackQueue(queueUrl: string): StatusCallbackQueue {
  return { enqueue: (job) => sendJson(queueUrl, job) };
}

/** A record body that is not a StatusCallbackJob (poison) is undefined. */
export function parseStatusCallbackJob(body: string): StatusCallbackJob | undefined {
  return parseSendJob(body);
}
