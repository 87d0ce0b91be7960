import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { consumer, type Delivery, type Outcome } from './assistance-shared.js';

const FROM = process.env.EMAIL_FROM ?? '';
let ses: SESClient | undefined;

const html = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
const oneLine = (text: string, max: number) => {
  const chars = [...text.replace(/[\r\n\t]+/g, ' ').trim()];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
};

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'MaxSendingRateExceeded',
  'LimitExceededException',
]);
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** channels/email.ts: the SES v1 SendEmail, throttling retried in-process 3 times. */
async function send(r: Delivery, settings: Record<string, unknown>): Promise<Outcome> {
  // maxAttempts 1: an SDK retry of a timeout could mail twice.
  ses ??= new SESClient({
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000 },
  });
  const command = new SendEmailCommand({
    Source: FROM,
    Destination: { ToAddresses: [...(settings.recipients as string[])] },
    Message: {
      Subject: { Data: oneLine(`Assistance request: ${r.topic}`, 200), Charset: 'UTF-8' },
      Body: {
        Text: {
          Data: [
            'New assistance request',
            '',
            `Topic: ${r.topic}`,
            `Received: ${r.createdAt}`,
            `Request id: ${r.id}`,
            '',
            'Description:',
            r.description,
            '',
          ].join('\n'),
          Charset: 'UTF-8',
        },
        Html: {
          Data: `<!doctype html><html><body>
<h2>New assistance request</h2>
<p><strong>Topic:</strong> ${html(r.topic)}<br>
<strong>Received:</strong> ${html(r.createdAt)}<br>
<strong>Request id:</strong> <code>${html(r.id)}</code></p>
<p><strong>Description:</strong></p>
<p style="white-space: pre-wrap">${html(r.description)}</p>
</body></html>`,
          Charset: 'UTF-8',
        },
      },
    },
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await ses.send(command);
      return { kind: 'sent' };
    } catch (error) {
      const e = error as {
        name?: string;
        code?: string;
        cause?: { code?: string };
        $metadata?: { httpStatusCode?: number };
      };
      const status = e.$metadata?.httpStatusCode;
      const reason = `SES ${e.name ?? 'error'}: ${(error as Error)?.message ?? ''}`.slice(0, 300);
      if ((e.name && THROTTLING.has(e.name)) || status === 429) {
        if (attempt < 3) {
          await new Promise((ok) => setTimeout(ok, 200 * 2 ** attempt * (0.5 + Math.random() / 2)));
          continue;
        }
        return { kind: 'retry', reason };
      }
      if (status !== undefined && status >= 500) return { kind: 'retry', reason };
      if (status !== undefined && status >= 400) return { kind: 'permanent', reason };
      const code = e.code ?? e.cause?.code;
      return { kind: code && NOT_SENT.has(code) ? 'retry' : 'unknown', reason };
    }
  }
}

/** SQS consumer of assistance-email. */
export const handler = consumer('email', send);
