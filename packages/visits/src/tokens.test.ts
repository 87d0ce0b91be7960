import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { sessionAuthenticator, sessionTokens, TOKEN_TTL_SECONDS } from './tokens.js';

const SECRET = 'unit-test-secret-that-is-at-least-32-bytes-long';
const tokens = sessionTokens(async () => SECRET);
const key = new TextEncoder().encode(SECRET);
const user = '7f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';

const signed = (claims: { sub?: string; iss?: string; aud?: string; exp?: number }, secret = key) => {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (claims.sub) jwt.setSubject(claims.sub);
  jwt.setIssuer(claims.iss ?? 'svc-visits').setAudience(claims.aud ?? 'svc-visits');
  jwt.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60);
  return jwt.sign(secret);
};

describe('session tokens', () => {
  it('issues an HS256 token for 24 hours with sub = user id', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const token = await tokens.issue(user, now);
    expect(token.expires_at).toBe('2030-01-02T00:00:00.000Z');
    expect(decodeProtectedHeader(token.access_token).alg).toBe('HS256');
    const payload = decodeJwt(token.access_token);
    expect(payload.sub).toBe(user);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(TOKEN_TTL_SECONDS);
  });

  it('verifies its own tokens', async () => {
    const { access_token } = await tokens.issue(user);
    expect(await tokens.verify(access_token)).toBe(user);
  });

  it.each([
    ['signed with another secret', () => signed({ sub: user }, new TextEncoder().encode('x'.repeat(40)))],
    ['expired', () => signed({ sub: user, exp: Math.floor(Date.now() / 1000) - 60 })],
    ['from another issuer', () => signed({ sub: user, iss: 'someone-else' })],
    ['for another audience', () => signed({ sub: user, aud: 'someone-else' })],
    ['without a subject', () => signed({})],
    [
      'unsigned (alg none)',
      async () =>
        new UnsecuredJWT({ sub: user, iss: 'svc-visits', aud: 'svc-visits' })
          .setExpirationTime('1h')
          .encode(),
    ],
    ['garbage', async () => 'not.a.token'],
    // Only the secret's holder can mint one, but a token valid for a century is never what visits issues.
    [
      'valid for 100 years',
      () => signed({ sub: user, exp: Math.floor(Date.now() / 1000) + 100 * 365 * 86_400 }),
    ],
    [
      'living a second longer than visits issues',
      () => signed({ sub: user, exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_SECONDS + 1 }),
    ],
  ])('refuses a token %s', async (_, make) => {
    await expect(tokens.verify(await make())).rejects.toMatchObject({
      kind: 'unauthenticated',
      message: 'Not authenticated',
    });
  });

  it('refuses to sign with a short secret', async () => {
    await expect(sessionTokens(async () => 'short').issue(user)).rejects.toThrow(/32 bytes/);
  });
});

describe('sessionAuthenticator', () => {
  const exists = new Set([user]);
  const authenticate = sessionAuthenticator(tokens, async (id) =>
    exists.has(id) ? { userId: id, email: 'pat@example.com' } : null,
  );

  it('accepts Bearer and bare tokens of an existing account, and hands the account it read to the route', async () => {
    const { access_token } = await tokens.issue(user);
    const principal = await authenticate({ authorization: `Bearer ${access_token}` });
    expect(principal.subject).toBe(user);
    expect(principal.context?.account).toEqual({ userId: user, email: 'pat@example.com' });
    expect((await authenticate({ authorization: access_token })).subject).toBe(user);
  });

  it('refuses a valid token of an account that no longer exists', async () => {
    const { access_token } = await tokens.issue('00000000-0000-4000-8000-000000000000');
    await expect(authenticate({ authorization: `Bearer ${access_token}` })).rejects.toMatchObject({
      kind: 'unauthenticated',
    });
  });

  it('refuses a missing header', async () => {
    await expect(authenticate({})).rejects.toMatchObject({ kind: 'unauthenticated' });
  });
});
