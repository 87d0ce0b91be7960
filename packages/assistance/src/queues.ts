import { sendJson } from '@svc/platform/queues';
import type { DeliveryMessage } from './schemas.js';

/** Port: hands a request to a channel's queue. */
export type Enqueue = (message: DeliveryMessage) => Promise<void>;

export function sqsEnqueue(queueUrls: Record<string, string>): Enqueue {
  return async (message) => {
    const url = queueUrls[message.channel];
    if (!url) throw new Error(`no queue for channel ${message.channel}`);
    await sendJson(url, message);
  };
}
