import type { ProviderSetting } from './config.js';

export interface SmsRequest {
  toNumber: string;
  message: string;
  callbackUrl: string;
}

/**
 * What a provider call came to. `unavailable` (5xx, 429, timeout, network) counts against the provider's
 * breaker; `rejected` (another 4xx, an unreadable answer) does not, but both move on to the next provider.
 */
export type SmsResult =
  | { kind: 'accepted'; messageId: string }
  | { kind: 'unavailable'; detail: string }
  | { kind: 'rejected'; detail: string };

/** Port: one SMS provider. */
export interface SmsProvider {
  readonly name: string;
  send(request: SmsRequest): Promise<SmsResult>;
}

/** A provider's JSON API (SPEC §5) over global fetch, with a hard timeout per call. */
export function httpSmsProvider(
  setting: Pick<ProviderSetting, 'name' | 'url'>,
  timeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): SmsProvider {
  return {
    name: setting.name,
    async send({ toNumber, message, callbackUrl }) {
      let response: Response;
      try {
        response = await fetchImpl(setting.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ to_number: toNumber, message, callback_url: callbackUrl }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const name = (error as { name?: string }).name;
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        return {
          kind: 'unavailable',
          detail: timedOut ? `no answer within ${timeoutMs} ms` : 'network error',
        };
      }
      if (response.status >= 500 || response.status === 429) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'unavailable', detail: `answered ${response.status}` };
      }
      if (response.status !== 200 && response.status !== 201 && response.status !== 202) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'rejected', detail: `answered ${response.status}` };
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        return { kind: 'rejected', detail: 'answered with a body that is not JSON' };
      }
      const id = (body as { message_id?: unknown } | null)?.message_id;
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
        return { kind: 'rejected', detail: 'answered without a message_id' };
      }
      return { kind: 'accepted', messageId: id };
    },
  };
}

export interface Weighted {
  name: string;
  weight: number;
}

/**
 * The order to try providers in: the first is drawn by weight, the rest follow by weight as fallbacks.
 * Providers whose breaker is open are left out, unless every one is, in which case all are tried
 * (better a likely failure than no attempt at all).
 */
export function providerOrder(
  providers: readonly Weighted[],
  isOpen: (name: string) => boolean,
  random: () => number = Math.random,
): string[] {
  const closed = providers.filter((p) => !isOpen(p.name));
  const pool = [...(closed.length > 0 ? closed : providers)];
  const order: string[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, p) => sum + p.weight, 0);
    let index = 0;
    if (total > 0) {
      let ticket = random() * total;
      index = pool.findIndex((p) => {
        ticket -= p.weight;
        return ticket < 0;
      });
      if (index < 0) index = pool.length - 1;
      // A weight of 0 is a fallback only: never drawn while others have weight.
      while (pool[index]?.weight === 0) index = (index + 1) % pool.length;
    }
    const [chosen] = pool.splice(index, 1);
    if (chosen) order.push(chosen.name);
  }
  return order;
}
