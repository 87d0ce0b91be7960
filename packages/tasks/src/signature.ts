import { createHmac, timingSafeEqual } from 'node:crypto';
import { NotAuthenticated, ServiceUnavailable } from '@svc/platform';

/** How far `X-Webhook-Timestamp` may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
const UNIX_SECONDS = /^\d{1,12}$/;

export interface SignedRequest {
  headers: Record<string, string | undefined>;
  /** The body exactly as received (API Gateway may deliver it base64-encoded). */
  body?: string | undefined;
  isBase64Encoded?: boolean | undefined;
}

/** The webhook settings (tasks config): where the secret lives and whether signing is mandatory. */
export interface WebhookSecretSettings {
  PARAM_TASKS_WEBHOOK_SECRET: string;
  WEBHOOK_SIGNATURE_REQUIRED: boolean;
}

/** Port: reads a secret by its parameter name; undefined when it does not exist or is empty. */
export type SecretReader = (name: string) => Promise<string | undefined>;

const SIGNING_UNAVAILABLE = 'Webhook verification is temporarily unavailable, retry later.';

/**
 * The secret to verify a webhook with, or undefined when the stage takes unsigned webhooks (no secret
 * configured, and signing not required). When the stage requires signatures (SPEC §2, prod preset), a
 * secret that is unset, absent, empty or unreadable is a 503: the sender retries, and nothing unsigned is
 * accepted in the meantime. The parameter's name is only in the cause (logs), never in the answer.
 */
export async function webhookSecret(
  settings: WebhookSecretSettings,
  read: SecretReader,
): Promise<string | undefined> {
  const name = settings.PARAM_TASKS_WEBHOOK_SECRET;
  if (!settings.WEBHOOK_SIGNATURE_REQUIRED) return name ? read(name) : undefined;
  const unavailable = (detail: string, cause?: unknown) =>
    new ServiceUnavailable(SIGNING_UNAVAILABLE, 5, {
      cause: new Error(detail, cause === undefined ? {} : { cause }),
    });
  if (!name) throw unavailable('signatures are required but PARAM_TASKS_WEBHOOK_SECRET is not set');
  let secret: string | undefined;
  try {
    secret = await read(name);
  } catch (error) {
    throw unavailable(`signatures are required but ${name} could not be read`, error);
  }
  if (!secret) throw unavailable(`signatures are required but ${name} does not exist or is empty`);
  return secret;
}

export function rawBodyOf(request: Pick<SignedRequest, 'body' | 'isBase64Encoded'>): Buffer {
  const body = request.body ?? '';
  return request.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}

/** `sha256=<hex>` for a body, as a sender computes it (tests, sample events). */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * SPEC §2: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and `X-Webhook-Timestamp`
 * (Unix seconds, within 5 minutes). Headers are already lower-cased by the HTTP stack. Every failure
 * is the same 401 so a caller learns nothing about which part was wrong.
 *
 * The SPEC signs the body only, so the timestamp bounds clock skew but is not bound to the signature;
 * a replayed body is harmless because every event is idempotent (redeliveries and stale events are
 * no-ops), which is what actually protects against replay.
 */
export function verifySignature(secret: string, request: SignedRequest, now = Date.now()): void {
  const signature = request.headers['x-webhook-signature']?.trim();
  const timestamp = request.headers['x-webhook-timestamp']?.trim();
  const invalid = new NotAuthenticated('Missing or invalid webhook signature.');
  if (!signature || !timestamp || !UNIX_SECONDS.test(timestamp)) throw invalid;
  if (Math.abs(now / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) throw invalid;
  const match = SIGNATURE.exec(signature);
  if (!match?.[1]) throw invalid;
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', secret).update(rawBodyOf(request)).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
}
