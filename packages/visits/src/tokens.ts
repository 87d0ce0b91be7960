import { randomUUID } from 'node:crypto';
import {
  type Authenticator,
  bearerToken,
  lifetimeExceeds,
  NotAuthenticated,
  type Principal,
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

/** What identifies one session token: its user, its own id (`jti`, for logout) and its lifetime. */
export interface Session {
  userId: string;
  tokenId: string;
  issuedAt: number;
  expiresAt: number;
}

/** What an account keeps about revoked tokens (see `isRevoked`). */
export interface RevocationState {
  /** jti → the token's `exp` (Unix seconds): tokens logged out before they expired. */
  revoked?: Record<string, number> | undefined;
  /** Every token issued at or before this second is revoked (a logout that would overfill `revoked`). */
  tokensNotBefore?: number | undefined;
}

/** A token logged out (its jti is listed) or issued before a logout of every token. */
export function isRevoked(account: RevocationState, session: Session | undefined): boolean {
  if (!session) return false;
  if (account.tokensNotBefore !== undefined && session.issuedAt <= account.tokensNotBefore) return true;
  return account.revoked !== undefined && Object.hasOwn(account.revoked, session.tokenId);
}

export interface SessionTokens {
  issue(userId: string, now?: Date): Promise<Token>;
  /** The user id (`sub`) of a valid token; NotAuthenticated for anything else. */
  verify(token: string): Promise<string>;
  /** The whole session of a valid token (user, jti, iat, exp); NotAuthenticated for anything else. */
  verifySession(token: string): Promise<Session>;
}

/** The session behind a principal the visits authenticators built (undefined for anything else). */
export function sessionOf(principal: Principal | undefined): Session | undefined {
  return principal?.context?.session as Session | undefined;
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
        .setJti(randomUUID())
        .sign(await key());
      return { access_token: accessToken, expires_at: new Date(expiresAt * 1000).toISOString() };
    },
    async verify(token) {
      return (await this.verifySession(token)).userId;
    },
    async verifySession(token) {
      const secret = await key();
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          // `jti` names the token for logout; a token without one could never be revoked.
          requiredClaims: ['sub', 'exp', 'jti'],
          clockTolerance: 5,
        });
        const { sub, jti, iat, exp } = payload;
        if (typeof sub !== 'string' || sub.length === 0) throw new NotAuthenticated();
        if (typeof jti !== 'string' || jti.length === 0 || jti.length > 64) throw new NotAuthenticated();
        // Never longer-lived than what `issue` mints (exp − iat = TOKEN_TTL_SECONDS).
        if (lifetimeExceeds(payload, TOKEN_TTL_SECONDS, Math.floor(Date.now() / 1000))) {
          throw new NotAuthenticated();
        }
        return { userId: sub, tokenId: jti, issuedAt: iat ?? 0, expiresAt: exp ?? 0 };
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
    const session = await tokens.verifySession(bearerToken(headers, { allowBare: true }));
    const userId = session.userId;
    return { subject: userId, scopes: new Set(), claims: { sub: userId }, context: { session } };
  };
}

/**
 * The authenticator of every protected visits route: `Bearer <t>` or the bare token, a valid HS256
 * signature, and an account that still exists (a deleted account's token stops working at once) and has
 * not revoked this token (logout).
 */
export function sessionAuthenticator(
  tokens: SessionTokens,
  findAccount: (userId: string) => Promise<object | null>,
): Authenticator {
  return async (headers) => {
    const token = bearerToken(headers, { allowBare: true });
    const session = await tokens.verifySession(token);
    const userId = session.userId;
    const account = await findAccount(userId);
    // A logged-out token is refused by the same read that finds the account: no round trip of its own.
    if (!account || isRevoked(account as RevocationState, session)) throw new NotAuthenticated();
    return { subject: userId, scopes: new Set(), claims: { sub: userId }, context: { account, session } };
  };
}
