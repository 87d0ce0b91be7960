import { describe, expect, it } from 'vitest';
import { callbackToken, callbackUrl, verifyCallbackToken } from './callback-token.js';

const SECRET = 'test-secret';
const ID = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

describe('callback tokens', () => {
  it('verifies a token it made and returns the message id', () => {
    expect(verifyCallbackToken(SECRET, callbackToken(SECRET, ID))).toBe(ID);
  });

  it('puts the token in the callback URL', () => {
    const url = new URL(callbackUrl('https://api.example.com', SECRET, ID));
    expect(url.pathname).toBe('/messages/delivery_status');
    expect(verifyCallbackToken(SECRET, url.searchParams.get('token') ?? undefined)).toBe(ID);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no mac', ID],
    ['made with another secret', callbackToken('other', ID)],
    [
      'for another message',
      `6f1c2b3a-4d5e-4f60-8a7b-000000000000.${callbackToken(SECRET, ID).split('.')[1]}`,
    ],
    ['truncated mac', callbackToken(SECRET, ID).slice(0, -2)],
    ['mac with padding', `${callbackToken(SECRET, ID)}=`],
    ['not a uuid', `abc.${callbackToken(SECRET, ID).split('.')[1]}`],
    ['very long', 'x'.repeat(5000)],
  ])('refuses a token that is %s', (_, token) => {
    expect(verifyCallbackToken(SECRET, token)).toBeUndefined();
  });

  it('refuses a token with one character of the mac changed', () => {
    const token = callbackToken(SECRET, ID);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(verifyCallbackToken(SECRET, token.slice(0, -1) + last)).toBeUndefined();
  });
});
