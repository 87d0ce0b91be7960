import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import * as v from 'valibot';
import { intFromEnv, loadConfig } from './config.js';
import { Forbidden, NotAuthenticated, ServiceUnavailable } from './errors.js';

export interface Principal {
  /** `sub` of the token. */
  subject: string;
  scopes: ReadonlySet<string>;
  claims: JWTPayload;
  /** What the authenticator looked up beyond the token (visits: the caller's account), for the route to reuse. */
  context?: Readonly<Record<string, unknown>>;
}

export type Authenticator = (headers: Record<string, string | undefined>) => Promise<Principal>;

/** Asymmetric algorithms only: `none` and every HS* are refused for JWKS-verified tokens. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/** `Authorization: Bearer <t>`; with `allowBare`, the bare token too (visits' legacy clients). */
export function bearerToken(
  headers: Record<string, string | undefined>,
  options: { allowBare?: boolean } = {},
): string {
  const raw = headers.authorization?.trim();
  if (!raw) throw new NotAuthenticated();
  const match = /^Bearer\s+(\S+)$/i.exec(raw);
  if (match?.[1]) return match[1];
  if (options.allowBare && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(raw)) return raw;
  throw new NotAuthenticated();
}

/** Scopes from `scope` (space separated) or the `scp` / `permissions` arrays. */
export function scopesOf(claims: JWTPayload): Set<string> {
  const out = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') for (const s of value.split(/\s+/)) s && out.add(s);
    else if (Array.isArray(value)) for (const s of value) typeof s === 'string' && out.add(s);
  };
  add(claims.scope);
  add(claims.scp);
  add(claims.permissions);
  return out;
}

export function requireScopes(principal: Principal, scopes: readonly string[]): void {
  const missing = scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length > 0) throw new Forbidden(`Missing required scope: ${missing.join(' ')}.`);
}

export interface JwksSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Longest lifetime (`exp − iat`) accepted; a longer-lived token is 401 however valid it is otherwise. */
  maxLifetimeSeconds?: number;
}

/** What a stage accepts when it names no maximum: a day, the longest access token issuers hand out by default. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/**
 * A token whose lifetime (`exp − iat`) exceeds `maxSeconds`. Without `iat`, or with an `iat` in the future,
 * the lifetime counts from now, so leaving `iat` out (or forging it forward) cannot stretch a token's
 * validity past the maximum. A token without a numeric `exp` is too long by definition.
 */
export function lifetimeExceeds(payload: JWTPayload, maxSeconds: number, nowSeconds: number): boolean {
  if (typeof payload.exp !== 'number') return true;
  const from = typeof payload.iat === 'number' ? Math.min(payload.iat, nowSeconds) : nowSeconds;
  return payload.exp - from > maxSeconds;
}

/**
 * The key set could not be had (timeout, refused connection, a non-200 answer, a body that is no key
 * set): the caller's token may be fine, so this is a 503 to retry, not a 401 to give up on.
 */
function isIdentityProviderOutage(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  if (error instanceof joseErrors.JOSEError)
    return error.code === 'ERR_JOSE_GENERIC' && error.message.includes('JSON Web Key Set');
  // Not jose's own verdict on the token: fetch failed (refused, reset, DNS) or the body was not JSON.
  return !(error instanceof NotAuthenticated) && error instanceof Error;
}

export function jwksAuthenticator(settings: JwksSettings): Authenticator {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), {
    timeoutDuration: 3000,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  });
  const maxLifetime = settings.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  return async (headers) => {
    const token = bearerToken(headers);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: JWKS_ALGORITHMS,
        // A token without an expiry would be valid forever once leaked: refused like an expired one.
        requiredClaims: ['exp'],
        clockTolerance: 5,
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new NotAuthenticated();
      // A 100-year token is a leaked credential forever: refused even though its signature is good.
      if (lifetimeExceeds(payload, maxLifetime, Math.floor(Date.now() / 1000))) throw new NotAuthenticated();
      return { subject: payload.sub, scopes: scopesOf(payload), claims: payload };
    } catch (error) {
      if (isIdentityProviderOutage(error)) throw new ServiceUnavailable('Identity provider unavailable.');
      if (error instanceof NotAuthenticated) throw error;
      // Every other jose failure (signature, alg, iss, aud, exp, nbf, malformed) is the caller's problem.
      throw new NotAuthenticated();
    }
  };
}

const JwtEnv = v.object({
  JWT_ISSUER: v.pipe(v.string(), v.minLength(1)),
  JWT_AUDIENCE: v.pipe(v.string(), v.minLength(1)),
  JWT_JWKS_URL: v.pipe(v.string(), v.url()),
  JWT_MAX_LIFETIME_SECONDS: v.pipe(intFromEnv(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS), v.minValue(1)),
});

let stageAuthenticator: Authenticator | undefined;

/** The stage's machine-caller authenticator, built once per container from JWT_* settings. */
export function stageJwtAuthenticator(): Authenticator {
  if (!stageAuthenticator) {
    const env = loadConfig(JwtEnv);
    stageAuthenticator = jwksAuthenticator({
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      jwksUrl: env.JWT_JWKS_URL,
      maxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS,
    });
  }
  return stageAuthenticator;
}
