import * as v from 'valibot';
import { type ChannelSender, type DeliveryOutcome, type DeliveryRequest, defineChannel } from './channel.js';

/** Slack rules carry no settings: the incoming webhook URL is a secret in SSM, not routing config. */
export const slack = defineChannel({
  type: 'slack',
  queue: 'assistance-slack',
  settings: v.strictObject({}, 'slack rules take no other fields'),
  consumer: {
    functionName: 'AssistanceDeliverSlack',
    handler: 'functions/assistance/deliver-slack.ts',
    summary: 'Posts queued assistance requests to Slack through the incoming webhook',
    batchSize: 5,
    timeoutSeconds: 30,
    access: { parameters: ['assistance-slack-webhook-url'] },
  },
});

/** Slack mrkdwn treats only these three as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A section's text is limited to 3000 characters; split escaped text without cutting an entity. */
const SECTION_LIMIT = 3000;
function chunksOf(text: string): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const char of text) {
    const escaped = escapeMrkdwn(char);
    if (current.length + escaped.length > SECTION_LIMIT) {
      chunks.push(current);
      current = '';
    }
    current += escaped;
  }
  if (current) chunks.push(current);
  return chunks;
}

const truncate = (text: string, max: number) => {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
};

/** A readable Block Kit message: header, topic and time, the description, the request id. */
export function slackMessage(request: DeliveryRequest) {
  const topic = escapeMrkdwn(request.topic);
  return {
    // The notification text: Slack parses it as mrkdwn too (`<!channel>`, `<@U…>`, `<https://…|…>`), so it
    // is escaped like the blocks (after truncating, so no entity is cut).
    text: escapeMrkdwn(truncate(`New assistance request (${request.topic}): ${request.description}`, 300)),
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: truncate(`New assistance request: ${request.topic}`, 150),
          emoji: true,
        },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Topic*\n${truncate(topic, 1900)}` },
          { type: 'mrkdwn', text: `*Received*\n${request.createdAt}` },
        ],
      },
      ...chunksOf(request.description).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Request id: \`${request.id}\`` }],
      },
    ],
  };
}

/** Errors raised before a single byte left: the post certainly did not happen. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Retry-After as seconds or an HTTP date; at least 1 second. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  if (!header) return 1;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1 : Math.max(1, Math.ceil((date - now) / 1000));
}

export interface SlackSenderOptions {
  /** The incoming webhook URL (an SSM SecureString, read through the cached parameter reader). */
  webhookUrl: () => Promise<string>;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

export function slackSender(options: SlackSenderOptions): ChannelSender<unknown> {
  const post = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async send(request): Promise<DeliveryOutcome> {
      let url: string;
      try {
        url = await options.webhookUrl();
      } catch {
        return { kind: 'retry', reason: 'the Slack webhook URL could not be read' };
      }
      let response: Response;
      try {
        response = await post(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(slackMessage(request)),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
        });
      } catch (error) {
        const code = errorCode(error);
        if (code && NOT_SENT_CODES.has(code)) return { kind: 'retry', reason: `Slack unreachable (${code})` };
        return { kind: 'unknown', reason: `Slack did not answer (${code ?? (error as Error).name})` };
      }
      const body = (await response.text().catch(() => '')).slice(0, 200);
      if (response.ok) return { kind: 'sent' };
      if (response.status === 429) {
        return {
          kind: 'retry',
          reason: 'Slack rate limited the webhook (429)',
          afterSeconds: retryAfterSeconds(response.headers.get('retry-after')),
        };
      }
      if (response.status >= 500) return { kind: 'retry', reason: `Slack answered ${response.status}` };
      return { kind: 'permanent', reason: `Slack answered ${response.status} ${body}`.trim() };
    },
  };
}
