import { createHmac, KeyObject, randomUUID, sign, type webcrypto } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';

/**
 * Token forging for the JWT attack matrix: a JWKS issuer whose private key the test holds (so claims
 * can be varied one at a time under a valid signature), an attacker key, and raw compact-JWS builders
 * for what no honest library would sign (alg none, HMAC keyed with public material, stripped signatures).
 */

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
export type Claims = Record<string, unknown>;
export type Header = Record<string, unknown>;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `header.payload.` with an arbitrary header: the unsecured JWS shape. */
export function unsigned(header: Header, claims: Claims): string {
  return `${encode(header)}.${encode(claims)}.`;
}

/** An HMAC-signed compact JWS, built by hand so any secret (even a short or public one) can be used. */
export function hmacSigned(
  alg: 'HS256' | 'HS384' | 'HS512',
  secret: string | Uint8Array,
  claims: Claims,
  header: Header = {},
): string {
  const input = `${encode({ alg, typ: 'JWT', ...header })}.${encode(claims)}`;
  const digest = `sha${alg.slice(2)}`;
  return `${input}.${createHmac(digest, secret).update(input).digest('base64url')}`;
}

/** Claims of a compact JWT (no verification). */
export function claimsOf(token: string): Claims {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Claims;
}

/** Replaces the payload segment, keeping header and signature: a tampered token. */
export function withPayload(token: string, claims: Claims): string {
  const [header, , signature] = token.split('.');
  return `${header}.${encode(claims)}.${signature}`;
}

export interface MatrixIssuer {
  issuer: string;
  audience: string;
  kid: string;
  jwksUrl: string;
  /** The public key as the JWKS serves it, the JWKS document text, and the key as SPKI PEM. */
  publicJwk: JWK;
  jwksText: string;
  publicPem: string;
  /** Claims of an honest token: iss, aud, sub, iat, exp (+5 min), plus `extra`. */
  claims(extra?: Claims): Claims;
  /** RS256 with the issuer's own key (the header may be changed, e.g. `crit`, `kid`). */
  sign(claims: Claims, header?: Header): string;
  /** RS256 with a key the JWKS does not hold (by default under the issuer's kid). */
  signAsAttacker(claims: Claims, header?: Header): string;
  attackerJwk: JWK;
  stop(): Promise<void>;
}

/** RS256 by hand (node:crypto), so headers a library would refuse to sign (e.g. `crit`) can be made. */
function rs256(key: PrivateKey, claims: Claims, header: Header): string {
  const input = `${encode({ typ: 'JWT', ...header, alg: 'RS256' })}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input), KeyObject.from(key as webcrypto.CryptoKey));
  return `${input}.${signature.toString('base64url')}`;
}

export async function startMatrixIssuer(): Promise<MatrixIssuer> {
  const own = await generateKeyPair('RS256', { extractable: true });
  const attacker = await generateKeyPair('RS256', { extractable: true });
  const kid = `matrix-${randomUUID()}`;
  const publicJwk: JWK = { ...(await exportJWK(own.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const attackerJwk: JWK = { ...(await exportJWK(attacker.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwksText = JSON.stringify({ keys: [publicJwk] });
  const server = createServer((_, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(jwksText);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = 'https://issuer.jwt-matrix.test/';
  const audience = 'svc-jwt-matrix';
  return {
    issuer,
    audience,
    kid,
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    publicJwk,
    jwksText,
    publicPem: await exportSPKI(own.publicKey),
    attackerJwk,
    claims: (extra = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return { iss: issuer, aud: audience, sub: 'matrix-client', iat: now, exp: now + 300, ...extra };
    },
    sign: (claims, header = {}) => rs256(own.privateKey, claims, { kid, ...header }),
    signAsAttacker: (claims, header = {}) => rs256(attacker.privateKey, claims, { kid, ...header }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
