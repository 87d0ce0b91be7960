import type { Access, QueueConsumer } from '@svc/platform/routes';
import type * as v from 'valibot';

/** What a channel delivers: the stored request, never the caller's raw input. */
export interface DeliveryRequest {
  id: string;
  topic: string;
  description: string;
  createdAt: string;
}

/**
 * The result of one send. Senders never throw for delivery problems; they say what happened, and the
 * delivery workflow (delivery.ts) decides about retries, failure and fallback in one place.
 */
export type DeliveryOutcome =
  /** The destination accepted the message. */
  | { kind: 'sent' }
  /** Definitely not delivered, worth trying again (5xx, throttling, connection refused). */
  | { kind: 'retry'; reason: string; afterSeconds?: number }
  /** Definitely not delivered and never will be with this destination (4xx other than 429). */
  | { kind: 'permanent'; reason: string }
  /** May or may not have been delivered (a timeout after the request went out): never resent. */
  | { kind: 'unknown'; reason: string };

export interface ChannelSender<S> {
  send(request: DeliveryRequest, settings: S): Promise<DeliveryOutcome>;
}

/**
 * A channel type as the rest of the service sees it. Deliberately free of SDK imports: the request
 * handler validates rules against every channel's `settings` schema without bundling their clients.
 */
export interface ChannelType<S = unknown> {
  /** The `channel` value in routing rules and API responses, e.g. `slack`. */
  type: string;
  /** The logical SQS queue that feeds this channel's Lambda (its DLQ is `<queue>-dlq`). */
  queue: string;
  /** The channel-specific fields of a rule (everything except topic/channel/fallback), strict. */
  settings: v.GenericSchema<unknown, S>;
  /** The channel's consumer Lambda; table access and queue URLs are added by the registry. */
  consumer: Pick<QueueConsumer, 'functionName' | 'handler' | 'summary' | 'batchSize' | 'timeoutSeconds'> & {
    access: Access;
  };
}

/** Identity helper so each adapter module gets its settings type inferred. */
export function defineChannel<S>(channel: ChannelType<S>): ChannelType<S> {
  return channel;
}
