import type { ChannelType } from './channel.js';
import { email } from './email.js';
import { slack } from './slack.js';

export type { ChannelSender, ChannelType, DeliveryOutcome, DeliveryRequest } from './channel.js';

/**
 * Every channel type the service can route to. Adding one is its adapter module (a `defineChannel`
 * descriptor plus a sender) and one line here; its queue, DLQ and consumer Lambda follow from this list.
 */
export const CHANNELS: readonly ChannelType[] = [slack, email] as ChannelType[];

export function channelOf(type: string): ChannelType | undefined {
  return CHANNELS.find((c) => c.type === type);
}

export const channelTypes = (): string[] => CHANNELS.map((c) => c.type);
