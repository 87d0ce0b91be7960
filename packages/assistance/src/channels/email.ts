import type { SESClient, SendEmailCommandInput } from '@aws-sdk/client-ses';
import { traceClient } from '@svc/platform/tracing';
import * as v from 'valibot';
import { type ChannelSender, type DeliveryOutcome, type DeliveryRequest, defineChannel } from './channel.js';

const EmailSettings = v.strictObject(
  {
    recipients: v.pipe(
      v.array(
        v.pipe(v.string('recipients must be email addresses'), v.email('recipients must be email addresses')),
      ),
      v.minLength(1, 'an email rule needs at least one recipient'),
      v.maxLength(50, 'SES accepts at most 50 recipients per message'),
    ),
  },
  'email rules take only "recipients"',
);
export type EmailSettings = v.InferOutput<typeof EmailSettings>;

export const email = defineChannel({
  type: 'email',
  queue: 'assistance-email',
  settings: EmailSettings,
  consumer: {
    functionName: 'AssistanceDeliverEmail',
    handler: 'functions/assistance/deliver-email.ts',
    summary: 'Mails queued assistance requests to the recipients of their rule through SES',
    batchSize: 5,
    timeoutSeconds: 30,
    access: { ses: true },
  },
});

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Subject lines are single-line; a topic cannot inject headers or run on. */
const oneLine = (text: string, max: number) => {
  const flat = text.replace(/[\r\n\t]+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
};

export function emailMessage(request: DeliveryRequest) {
  const subject = oneLine(`Assistance request: ${request.topic}`, 200);
  const text = [
    'New assistance request',
    '',
    `Topic: ${request.topic}`,
    `Received: ${request.createdAt}`,
    `Request id: ${request.id}`,
    '',
    'Description:',
    request.description,
    '',
  ].join('\n');
  const html = `<!doctype html><html><body>
<h2>New assistance request</h2>
<p><strong>Topic:</strong> ${escapeHtml(request.topic)}<br>
<strong>Received:</strong> ${escapeHtml(request.createdAt)}<br>
<strong>Request id:</strong> <code>${escapeHtml(request.id)}</code></p>
<p><strong>Description:</strong></p>
<p style="white-space: pre-wrap">${escapeHtml(request.description)}</p>
</body></html>`;
  return { subject, text, html };
}

type SesErrorShape = {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
};

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'MaxSendingRateExceeded',
  'LimitExceededException',
]);
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type Classified = 'throttled' | 'retry' | 'permanent' | 'unknown';

/**
 * SES refusing because of how the account is set up, not because of this message: an unverified sender
 * identity, a recipient outside the sandbox's verified list, sending paused. Fixing the account makes the
 * same message deliverable, so these are retried (slowly) and reported as setup problems, never "permanent".
 */
const SETUP_ERRORS = new Set([
  'MailFromDomainNotVerifiedException',
  'MailFromDomainNotVerified',
  'AccountSendingPausedException',
  'ConfigurationSetSendingPausedException',
]);

export function isSesSetupError(error: unknown): boolean {
  const e = (error ?? {}) as SesErrorShape & { message?: string };
  if (e.name && SETUP_ERRORS.has(e.name)) return true;
  return e.name === 'MessageRejected' && /not verified|sandbox/i.test(e.message ?? '');
}

/** How long a setup problem waits before the next attempt: time for someone to verify or leave the sandbox. */
export const SES_SETUP_RETRY_SECONDS = 300;

/** SES answered (status known) or the connection never opened: definite. Anything else: unknown. */
export function classifySesError(error: unknown): Classified {
  const e = (error ?? {}) as SesErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if ((e.name && THROTTLING.has(e.name)) || status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'retry';
  if (status !== undefined && status >= 400) return 'permanent';
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as SesErrorShape).code;
    if (code && NOT_SENT_CODES.has(code)) return 'retry';
    current = (current as SesErrorShape).cause;
  }
  return 'unknown';
}

/** The one SES call the sender makes, so tests can stand in for SES (e.g. to throttle). */
export type SendEmail = (input: SendEmailCommandInput) => Promise<unknown>;

export interface EmailSenderOptions {
  from: string;
  /** Defaults to SES v1 SendEmail through @aws-sdk/client-ses (endpoint from AWS_ENDPOINT_URL_SES locally). */
  sendEmail?: SendEmail;
  /** Throttled calls are retried in-process this many times with jittered exponential backoff. */
  throttleRetries?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

let ses: SESClient | undefined;

/** SES client created on first send and imported lazily, so the request handlers never load it. */
async function sesSendEmail(input: SendEmailCommandInput): Promise<unknown> {
  const sdk = await import('@aws-sdk/client-ses');
  // maxAttempts 1: the SDK would also retry timeouts, which could mail twice; throttling is retried below.
  ses ??= traceClient(
    new sdk.SESClient({
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000 },
    }),
  );
  return ses.send(new sdk.SendEmailCommand(input));
}

export function emailSender(options: EmailSenderOptions): ChannelSender<EmailSettings> {
  const send = options.sendEmail ?? sesSendEmail;
  const retries = options.throttleRetries ?? 3;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async send(request, settings): Promise<DeliveryOutcome> {
      const message = emailMessage(request);
      const input: SendEmailCommandInput = {
        Source: options.from,
        Destination: { ToAddresses: [...settings.recipients] },
        Message: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.text, Charset: 'UTF-8' },
            Html: { Data: message.html, Charset: 'UTF-8' },
          },
        },
      };
      for (let attempt = 0; ; attempt++) {
        try {
          await send(input);
          return { kind: 'sent' };
        } catch (error) {
          const kind = classifySesError(error);
          const reason = `SES ${(error as Error)?.name ?? 'error'}: ${(error as Error)?.message ?? ''}`.slice(
            0,
            300,
          );
          if (isSesSetupError(error))
            return {
              kind: 'retry',
              reason: `SES is not set up for this mail (verify the sender identity and leave the SES sandbox, README "Deploying"): ${reason}`,
              afterSeconds: SES_SETUP_RETRY_SECONDS,
            };
          if (kind === 'throttled') {
            if (attempt < retries) {
              await sleep(base * 2 ** attempt * (0.5 + Math.random() / 2));
              continue;
            }
            return { kind: 'retry', reason };
          }
          return { kind, reason };
        }
      }
    },
  };
}
