import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Authenticator, jwksAuthenticator, lifetimeExceeds, requireScopes, scopesOf } from './auth.js';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'svc-test';

let server: Server;
let authenticate: Authenticator;
let privateKey: SigningKey;
let publicJwk: JWK;
let otherKey: SigningKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  otherKey = (await generateKeyPair('RS256')).privateKey;
  server = createServer((_, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  authenticate = jwksAuthenticator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    maxLifetimeSeconds: 3600,
  });
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface TokenOptions {
  key?: SigningKey;
  issuer?: string;
  audience?: string;
  expiresIn?: string | number;
  notBefore?: string | number;
  claims?: Record<string, unknown>;
}

function token(options: TokenOptions = {}) {
  const jwt = new SignJWT({ scope: 'a:read a:write', ...options.claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('user-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m');
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(options.key ?? privateKey);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('jwksAuthenticator', () => {
  it('accepts a valid token and reads its subject and scopes', async () => {
    const principal = await authenticate(bearer(await token()));
    expect(principal.subject).toBe('user-1');
    expect([...principal.scopes].sort()).toEqual(['a:read', 'a:write']);
  });

  const rejects = async (headers: Record<string, string | undefined>) =>
    expect(authenticate(headers)).rejects.toMatchObject({ kind: 'unauthenticated' });

  it('rejects a missing header or a non-bearer scheme', async () => {
    await rejects({});
    await rejects({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    await rejects({ authorization: await token() });
  });

  it('rejects expired and not-yet-valid tokens', async () => {
    await rejects(bearer(await token({ expiresIn: Math.floor(Date.now() / 1000) - 60 })));
    await rejects(bearer(await token({ notBefore: Math.floor(Date.now() / 1000) + 3600 })));
  });

  it('rejects a token living longer than the maximum (exp − iat), whatever iat says', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(bearer(await token({ expiresIn: '100y' })));
    await rejects(bearer(await token({ expiresIn: now + 3601 })));
    // Leaving iat out, or dating it into the future, counts the lifetime from now.
    await rejects(bearer(await token({ expiresIn: now + 7200, claims: { iat: undefined } })));
    await rejects(bearer(await token({ expiresIn: now + 7200, claims: { iat: now + 5400 } })));
    expect((await authenticate(bearer(await token({ expiresIn: now + 3600 })))).subject).toBe('user-1');
  });

  it.each([
    ['exactly the maximum', { iat: 1000, exp: 4600 }, false],
    ['one second over', { iat: 1000, exp: 4601 }, true],
    ['no iat: from now', { exp: 2000 + 3600 }, false],
    ['no iat, over from now', { exp: 2000 + 3601 }, true],
    ['iat in the future: from now', { iat: 5000, exp: 5600 }, false],
    ['iat in the future, over from now (though exp − iat is 601)', { iat: 5000, exp: 5601 }, true],
    ['no exp', { iat: 1000 }, true],
  ])('lifetimeExceeds: %s', (_, claims, expected) => {
    expect(lifetimeExceeds(claims, 3600, 2000)).toBe(expected);
  });

  it('rejects a wrong issuer or audience', async () => {
    await rejects(bearer(await token({ issuer: 'https://evil.test/' })));
    await rejects(bearer(await token({ audience: 'someone-else' })));
  });

  it('rejects a token signed by another key', async () => {
    await rejects(bearer(await token({ key: otherKey })));
  });

  it('rejects alg none', async () => {
    const unsigned = new UnsecuredJWT({ scope: 'a:read' })
      .setSubject('user-1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .encode();
    await rejects(bearer(unsigned));
  });

  it('rejects HS256 signed with the public key material (key confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT({ scope: 'a:read' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('user-1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(secret);
    await rejects(bearer(forged));
  });

  it('rejects garbage', async () => {
    await rejects(bearer('not.a.jwt'));
    await rejects(bearer('x'.repeat(5000)));
  });
});

describe('jwksAuthenticator when the identity provider is down', () => {
  const verifierFor = (jwksUrl: string) => jwksAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
  const serving = async (status: number, body: string) => {
    const down = createServer((_, res) => {
      res.statusCode = status;
      res.end(body);
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    return down;
  };

  it.each([
    ['answers 500', 500, '{"message":"internal"}'],
    ['answers 200 with something that is not JSON', 200, '<html>maintenance</html>'],
    ['answers 200 with JSON that is no key set', 200, '{"keys":"nope"}'],
  ])('is a 503 to retry, not a 401, when the JWKS endpoint %s', async (_, status, body) => {
    const down = await serving(status, body);
    try {
      const { port } = down.address() as AddressInfo;
      const verify = verifierFor(`http://127.0.0.1:${port}/jwks.json`);
      await expect(verify(bearer(await token()))).rejects.toMatchObject({ kind: 'unavailable' });
    } finally {
      await new Promise<void>((resolve) => down.close(() => resolve()));
    }
  });

  it('is a 503 when nothing listens at the JWKS URL', async () => {
    const closed = await serving(200, '{}');
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const verify = verifierFor(`http://127.0.0.1:${port}/jwks.json`);
    await expect(verify(bearer(await token()))).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('still answers a bad token with 401 before fetching any key', async () => {
    const verify = verifierFor('http://127.0.0.1:9/jwks.json');
    await expect(verify(bearer('not.a.jwt'))).rejects.toMatchObject({ kind: 'unauthenticated' });
  });
});

describe('scopes', () => {
  it('reads scope strings and scp/permissions arrays', () => {
    expect([...scopesOf({ scope: 'a b', scp: ['c'], permissions: ['d', 1] })].sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('is 403 when a scope is missing', () => {
    const principal = { subject: 's', scopes: new Set(['a']), claims: {} };
    expect(() => requireScopes(principal, ['a'])).not.toThrow();
    expect(() => requireScopes(principal, ['a', 'b'])).toThrow(
      expect.objectContaining({ kind: 'forbidden' }),
    );
  });
});
