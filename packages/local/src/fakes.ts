import { randomUUID } from 'node:crypto';

/** What the fake Slack webhook received. */
export interface SlackPost {
  text: unknown;
  blocks: unknown;
  received_at: string;
}

/** One call a fake SMS provider received, with what it answered. */
export interface SmsCall {
  provider: string;
  to_number: unknown;
  message: unknown;
  callback_url: unknown;
  status_code: number;
  message_id?: string;
  received_at: string;
}

export type ProviderMode = 'ok' | 'down' | 'flaky';
export type ProviderCallback = 'delivered' | 'failed' | 'invalid';
export type SlackMode = 'ok' | 'down' | 'throttled';

export const PROVIDERS = ['provider1', 'provider2'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * The third parties the services talk to, faked in memory: two SMS providers (with switchable
 * behaviour and delivery callbacks) and a Slack incoming webhook. Everything they receive is kept
 * for `GET /__local/outbox`.
 */
export class Fakes {
  readonly slack: SlackPost[] = [];
  readonly sms: SmsCall[] = [];
  slackMode: SlackMode = 'ok';
  private readonly providers = new Map<
    ProviderName,
    { mode: ProviderMode; callback: ProviderCallback; calls: number }
  >(PROVIDERS.map((p) => [p, { mode: 'ok', callback: 'delivered', calls: 0 }]));
  private readonly callbacks = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: {
      /** How long a provider waits before calling back (the SPEC says within a second). */
      callbackDelayMs?: number;
      onCallbackError?: (error: unknown) => void;
    } = {},
  ) {}

  static isProvider(name: string): name is ProviderName {
    return (PROVIDERS as readonly string[]).includes(name);
  }

  configureProvider(
    name: ProviderName,
    settings: { mode?: ProviderMode; callback?: ProviderCallback },
  ): void {
    const current = this.providers.get(name);
    if (!current) return;
    if (settings.mode) current.mode = settings.mode;
    if (settings.callback) current.callback = settings.callback;
    current.calls = 0;
  }

  providerSettings(name: ProviderName): { mode: ProviderMode; callback: ProviderCallback } {
    const current = this.providers.get(name) ?? { mode: 'ok', callback: 'delivered' };
    return { mode: current.mode, callback: current.callback };
  }

  /** `POST {provider}`: 200 `{message_id}` then a callback, or 500 when down (or every other call when flaky). */
  providerCall(name: ProviderName, body: unknown): FakeAnswer {
    const state = this.providers.get(name);
    if (!state) return { status: 404, body: { message: 'Not Found' } };
    state.calls += 1;
    const request = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    // Flaky alternates (fail, ok, fail, ...) so tests of it are deterministic.
    const failing = state.mode === 'down' || (state.mode === 'flaky' && state.calls % 2 === 1);
    const call: SmsCall = {
      provider: name,
      to_number: request.to_number,
      message: request.message,
      callback_url: request.callback_url,
      status_code: failing ? 500 : 200,
      received_at: new Date().toISOString(),
    };
    if (failing) {
      this.sms.push(call);
      return { status: 500, body: { error: `${name} is unavailable` } };
    }
    const messageId = randomUUID();
    call.message_id = messageId;
    this.sms.push(call);
    if (typeof request.callback_url === 'string')
      this.scheduleCallback(request.callback_url, state.callback, messageId);
    return { status: 200, body: { message_id: messageId } };
  }

  slackPost(body: unknown): FakeAnswer {
    if (this.slackMode === 'down') return { status: 500, body: 'internal_error' };
    if (this.slackMode === 'throttled')
      return { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } };
    const post = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    this.slack.push({ text: post.text, blocks: post.blocks, received_at: new Date().toISOString() });
    return { status: 200, body: 'ok' };
  }

  reset(): void {
    this.slack.length = 0;
    this.sms.length = 0;
    this.slackMode = 'ok';
    for (const name of PROVIDERS) this.configureProvider(name, { mode: 'ok', callback: 'delivered' });
  }

  stop(): void {
    for (const timer of this.callbacks) clearTimeout(timer);
    this.callbacks.clear();
  }

  private scheduleCallback(url: string, status: ProviderCallback, messageId: string): void {
    const timer = setTimeout(() => {
      this.callbacks.delete(timer);
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, message_id: messageId }),
      })
        .then((response) => response.arrayBuffer())
        .catch((error: unknown) => this.options.onCallbackError?.(error));
    }, this.options.callbackDelayMs ?? 300);
    this.callbacks.add(timer);
  }
}
