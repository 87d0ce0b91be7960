import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { consumer, type Delivery, type Outcome } from './assistance-shared.js';

const PARAMETER = process.env.PARAM_ASSISTANCE_SLACK_WEBHOOK_URL ?? '';
let ssm: SSMClient | undefined;
let webhook: { url: string; at: number } | undefined;

/** The webhook URL (an SSM SecureString), read when a send needs it and kept for 60 s. */
async function webhookUrl(): Promise<string> {
  if (webhook && Date.now() - webhook.at < 60_000) return webhook.url;
  ssm ??= new SSMClient({});
  const out = await ssm.send(new GetParameterCommand({ Name: PARAMETER, WithDecryption: true }));
  if (!out.Parameter?.Value) throw new Error('webhook URL missing');
  webhook = { url: out.Parameter.Value, at: Date.now() };
  return webhook.url;
}

const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const truncate = (text: string, max: number) => {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
};
function sections(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const char of text) {
    const e = escapeMrkdwn(char);
    if (current.length + e.length > 3000) {
      out.push(current);
      current = '';
    }
    current += e;
  }
  if (current) out.push(current);
  return out;
}

/** The Block Kit message of channels/slack.ts. */
const message = (r: Delivery) => ({
  text: truncate(`New assistance request (${r.topic}): ${r.description}`, 300),
  blocks: [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`New assistance request: ${r.topic}`, 150), emoji: true },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Topic*\n${truncate(escapeMrkdwn(r.topic), 1900)}` },
        { type: 'mrkdwn', text: `*Received*\n${r.createdAt}` },
      ],
    },
    ...sections(r.description).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Request id: \`${r.id}\`` }] },
  ],
});

const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

async function send(request: Delivery): Promise<Outcome> {
  let url: string;
  try {
    url = await webhookUrl();
  } catch {
    return { kind: 'retry', reason: 'the Slack webhook URL could not be read' };
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(message(request)),
      signal: AbortSignal.timeout(10_000),
      redirect: 'manual',
    });
  } catch (error) {
    const code = ((error as { cause?: { code?: string } }).cause?.code ??
      (error as { code?: string }).code) as string | undefined;
    if (code && NOT_SENT.has(code)) return { kind: 'retry', reason: `Slack unreachable (${code})` };
    return { kind: 'unknown', reason: `Slack did not answer (${code ?? (error as Error).name})` };
  }
  const body = (await response.text().catch(() => '')).slice(0, 200);
  if (response.ok) return { kind: 'sent' };
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after') ?? '1');
    return {
      kind: 'retry',
      reason: 'Slack rate limited the webhook (429)',
      afterSeconds: Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 1,
    };
  }
  if (response.status >= 500) return { kind: 'retry', reason: `Slack answered ${response.status}` };
  return { kind: 'permanent', reason: `Slack answered ${response.status} ${body}`.trim() };
}

/** SQS consumer of assistance-slack. */
export const handler = consumer('slack', send);
