import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The token in a callback URL: `<message id>.<HMAC-SHA256(secret, purpose + id), base64url>`.
 * It binds the URL to one message, so a provider (or anyone) can only report on the message the URL
 * was made for, and nobody without the secret can forge one.
 */
const PURPOSE = 'dispatch-delivery-status:v1:';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_LENGTH = 32;

function mac(secret: string, messageId: string): Buffer {
  return createHmac('sha256', secret)
    .update(PURPOSE + messageId)
    .digest();
}

export function callbackToken(secret: string, messageId: string): string {
  return `${messageId}.${mac(secret, messageId).toString('base64url')}`;
}

export function callbackUrl(baseUrl: string, secret: string, messageId: string): string {
  return `${baseUrl}/messages/delivery_status?token=${encodeURIComponent(callbackToken(secret, messageId))}`;
}

/** The message id the token was made for, or undefined when it is malformed or forged. */
export function verifyCallbackToken(secret: string, token: string | undefined): string | undefined {
  if (!token || token.length > 200) return undefined;
  const dot = token.indexOf('.');
  if (dot < 0) return undefined;
  const messageId = token.slice(0, dot);
  if (!UUID.test(messageId)) return undefined;
  const encoded = token.slice(dot + 1);
  const given = Buffer.from(encoded, 'base64url');
  // Canonical encoding only (no alternative spellings of the same bytes); timingSafeEqual needs equal
  // lengths, and the length of a MAC is no secret.
  if (given.length !== MAC_LENGTH || given.toString('base64url') !== encoded) return undefined;
  return timingSafeEqual(given, mac(secret, messageId)) ? messageId : undefined;
}
