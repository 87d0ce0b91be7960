import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SendEmailCommandInput } from '@aws-sdk/client-ses';
import sesLocalModule from 'aws-ses-v2-local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  classifySesError,
  emailMessage,
  emailSender,
  escapeHtml,
  isSesSetupError,
  SES_SETUP_RETRY_SECONDS,
} from './email.js';

// A CommonJS module with `exports.default`: Node's ESM and vitest's interop disagree on which object is the default.
type StartSes = typeof sesLocalModule.default;
const sesLocal: StartSes =
  (sesLocalModule as unknown as { default?: StartSes }).default ?? (sesLocalModule as unknown as StartSes);

let ses: Server;
let endpoint: string;

beforeAll(async () => {
  ses = await sesLocal({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
  // The sender's SES client picks its endpoint up the way it does under the local runtime.
  process.env.AWS_ENDPOINT_URL_SES = endpoint;
});

afterAll(async () => {
  ses.closeAllConnections?.();
  await new Promise((resolve) => ses.close(resolve));
});

const request = {
  id: '0190b6f2-8c1e-7a51-9d6e-1f2a3b4c5d6e',
  topic: 'pricing',
  description: 'Is <script>alert(1)</script> "enterprise" & more cheaper?',
  createdAt: '2025-01-02T03:04:05.000Z',
};

interface StoredEmail {
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

describe('emailSender against aws-ses-v2-local', () => {
  it('sends one mail with a text and an HTML-escaped part to the rule recipients', async () => {
    const recipients = [`a-${Date.now()}@example.com`, 'b@example.com'];
    const outcome = await emailSender({ from: 'assistance@example.com' }).send(request, { recipients });
    expect(outcome).toEqual({ kind: 'sent' });
    const store = (await (await fetch(`${endpoint}/store`)).json()) as { emails: StoredEmail[] };
    const mail = store.emails.find((e) => e.destination.to.includes(recipients[0] as string));
    expect(mail).toBeDefined();
    expect(mail?.from).toBe('assistance@example.com');
    // aws-ses-v2-local's v1 SendEmail keeps only ToAddresses.member.1; all recipients are checked below.
    expect(mail?.destination.to[0]).toBe(recipients[0]);
    expect(mail?.subject).toBe('Assistance request: pricing');
    expect(mail?.body.text).toContain(request.description);
    expect(mail?.body.text).toContain(request.id);
    expect(mail?.body.html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt; &quot;enterprise&quot; &amp; more',
    );
    expect(mail?.body.html).not.toContain('<script>');
  });
});

describe('emailSender error handling', () => {
  const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
    name: 'Throttling',
    $metadata: { httpStatusCode: 400 },
  });

  it('puts every recipient of the rule in one SendEmail, From = EMAIL_FROM', async () => {
    const sendEmail = vi.fn(async (_: SendEmailCommandInput) => ({}));
    await emailSender({ from: 'from@example.com', sendEmail }).send(request, {
      recipients: ['a@example.com', 'b@example.com'],
    });
    expect(sendEmail).toHaveBeenCalledTimes(1);
    expect(sendEmail.mock.calls[0]?.[0]).toMatchObject({
      Source: 'from@example.com',
      Destination: { ToAddresses: ['a@example.com', 'b@example.com'] },
      Message: { Body: { Text: { Charset: 'UTF-8' }, Html: { Charset: 'UTF-8' } } },
    });
  });

  it('retries throttling with growing delays and then succeeds', async () => {
    const sendEmail = vi
      .fn<(input: SendEmailCommandInput) => Promise<unknown>>()
      .mockRejectedValueOnce(throttled)
      .mockRejectedValueOnce(throttled)
      .mockResolvedValueOnce({ MessageId: 'm' });
    const delays: number[] = [];
    const sender = emailSender({
      from: 'a@example.com',
      sendEmail,
      baseDelayMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect(await sender.send(request, { recipients: ['x@example.com'] })).toEqual({ kind: 'sent' });
    expect(sendEmail).toHaveBeenCalledTimes(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
  });

  it('leaves a still-throttled mail for a later attempt', async () => {
    const sendEmail = vi.fn(async () => Promise.reject(throttled));
    const sender = emailSender({
      from: 'a@example.com',
      sendEmail,
      throttleRetries: 2,
      sleep: async () => undefined,
    });
    expect(await sender.send(request, { recipients: ['x@example.com'] })).toMatchObject({ kind: 'retry' });
    expect(sendEmail).toHaveBeenCalledTimes(3);
  });

  it('classifies SES answers', () => {
    const err = (name: string, status?: number, code?: string) =>
      Object.assign(new Error(name), {
        name,
        ...(status ? { $metadata: { httpStatusCode: status } } : {}),
        code,
      });
    expect(classifySesError(err('MessageRejected', 400))).toBe('permanent');
    expect(classifySesError(err('ServiceUnavailable', 503))).toBe('retry');
    expect(classifySesError(err('TooManyRequestsException', 429))).toBe('throttled');
    expect(classifySesError(err('Error', undefined, 'ECONNREFUSED'))).toBe('retry');
    expect(classifySesError(err('TimeoutError'))).toBe('unknown');
  });

  it('retries, slowly and saying why, when SES refuses because the account is not set up (sandbox, identity)', async () => {
    const sandbox = Object.assign(
      new Error(
        'Email address is not verified. The following identities failed the check in region EU-WEST-1: x@example.com',
      ),
      { name: 'MessageRejected', $metadata: { httpStatusCode: 400 } },
    );
    const sender = emailSender({
      from: 'no-reply@example.com',
      sendEmail: vi.fn().mockRejectedValue(sandbox),
    });
    const outcome = await sender.send(request, { recipients: ['x@example.com'] });
    expect(outcome).toMatchObject({ kind: 'retry', afterSeconds: SES_SETUP_RETRY_SECONDS });
    expect(outcome.kind === 'retry' && outcome.reason).toMatch(/leave the SES sandbox.*not verified/);
    const paused = Object.assign(new Error('paused'), { name: 'AccountSendingPausedException' });
    expect(isSesSetupError(paused)).toBe(true);
    // Any other rejection of this message stays permanent.
    const content = Object.assign(new Error('Illegal address'), { name: 'MessageRejected' });
    expect(isSesSetupError(content)).toBe(false);
  });

  it('keeps the subject on one line and escapes HTML', () => {
    expect(emailMessage({ ...request, topic: 'a\r\nBcc: x@example.com' }).subject).toBe(
      'Assistance request: a Bcc: x@example.com',
    );
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
