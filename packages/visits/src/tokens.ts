import {
  type Authenticator,
  bearerToken,
  lifetimeExceeds,
  NotAuthenticated,
  ServiceUnavailable,
} from '@svc/platform';
import { readParameter } from '@svc/platform/parameters';
import { jwtVerify, SignJWT } from 'jose';
import type { Token } from './schemas.js';

/** Port: where the HS256 signing secret comes from (SSM in AWS and locally; a fixed value in unit tests). */
export type TokenSecretSource = () => Promise<string>;

/**
 * The SSM SecureString adapter, cached for a minute per container so a rotated secret is picked up.
 * A read failure is a 503 that names no parameter (callers need not learn our configuration).
 */
export const ssmTokenSecret =
  (parameterName: string): TokenSecretSource =>
  () =>
    readParameter(parameterName, 60).catch((error: unknown) => {
      throw new ServiceUnavailable('Sign-in is temporarily unavailable, retry later.', 5, { cause: error });
    });

export const TOKEN_TTL_SECONDS = 24 * 3600;
const ISSUER = 'svc-visits';
const AUDIENCE = 'svc-visits';
/** Shorter secrets are a configuration fault, not something to sign with. */
const MIN_SECRET_BYTES = 32;

export interface SessionTokens {
  issue(userId: string, now?: Date): Promise<Token>;
  /** The user id (`sub`) of a valid token; NotAuthenticated for anything else. */
  verify(token: string): Promise<string>;
}

export function sessionTokens(secretSource: TokenSecretSource): SessionTokens {
  const key = async () => {
    const secret = new TextEncoder().encode(await secretSource());
    if (secret.length < MIN_SECRET_BYTES) throw new Error('visits token secret is shorter than 32 bytes');
    return secret;
  };
  return {
    async issue(userId, now = new Date()) {
      const issuedAt = Math.floor(now.getTime() / 1000);
      const expiresAt = issuedAt + TOKEN_TTL_SECONDS;
      const accessToken = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(await key());
      return { access_token: accessToken, expires_at: new Date(expiresAt * 1000).toISOString() };
    },
    async verify(token) {
      const secret = await key();
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['sub', 'exp'],
          clockTolerance: 5,
        });
        if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new NotAuthenticated();
        // Never longer-lived than what `issue` mints (exp − iat = TOKEN_TTL_SECONDS).
        if (lifetimeExceeds(payload, TOKEN_TTL_SECONDS, Math.floor(Date.now() / 1000))) {
          throw new NotAuthenticated();
        }
        return payload.sub;
      } catch {
        // Signature, algorithm (incl. `none`), issuer, audience, expiry, malformed: all the caller's problem.
        throw new NotAuthenticated();
      }
    },
  };
}

/**
 * The token half of the session check, for the routes that check the caller's account along with their own
 * first read and refuse a missing account themselves: a visit by id (one BatchGetItem, `readVisitFor`) and the
 * lists (the account read beside the query, `Visits.asCaller`). Every other protected route uses
 * `sessionAuthenticator`.
 */
export function tokenAuthenticator(tokens: SessionTokens): Authenticator {
  return async (headers) => {
    const userId = await tokens.verify(bearerToken(headers, { allowBare: true }));
    return { subject: userId, scopes: new Set(), claims: { sub: userId } };
  };
}

/**
 * The authenticator of every protected visits route: `Bearer <t>` or the bare token, a valid HS256
 * signature, and an account that still exists (a deleted account's token stops working at once).
 */
export function sessionAuthenticator(
  tokens: SessionTokens,
  findAccount: (userId: string) => Promise<object | null>,
): Authenticator {
  return async (headers) => {
    const token = bearerToken(headers, { allowBare: true });
    const userId = await tokens.verify(token);
    const account = await findAccount(userId);
    if (!account) throw new NotAuthenticated();
    return { subject: userId, scopes: new Set(), claims: { sub: userId }, context: { account } };
  };
}
