// The "limit": hand-written handlers that do the same work as the real ones with the bare SDK
// (DocumentClient), no middleware, no validation library, no ElectroDB, on the real items.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';

export const TABLE = process.env.TABLE_NAME ?? '';
export const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export interface Event {
  headers?: Record<string, string | undefined>;
  pathParameters?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  rawPath?: string;
  body?: string;
}

export interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const reply = (statusCode: number, body: unknown, headers?: Record<string, string>): Reply => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when well formed (the real stack echoes it), else a fresh one. */
export const requestIdOf = (event?: Event): string => {
  const incoming = event?.headers?.['x-request-id'];
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
};

type Extra = { fields?: Record<string, string[]>; headers?: Record<string, string> };

const isEvent = (x: object): x is Event =>
  'headers' in x || 'requestContext' in x || 'routeKey' in x || 'pathParameters' in x || 'body' in x;

/**
 * The SPEC §0 error envelope the real handlers answer with. Either `failure(status, message, headers?)`
 * (a fresh request id) or `failure(status, message, event, { fields?, headers? })` (the event's
 * X-Request-Id echoed like the real stack does, and the field errors).
 */
export function failure(status: number, message: string, headers?: Record<string, string>): Reply;
export function failure(status: number, message: string, event: Event, extra?: Extra): Reply;
export function failure(
  status: number,
  message: string,
  third?: Event | Record<string, string>,
  extra?: Extra,
): Reply {
  if (third && isEvent(third)) return refuse(third, status, message, extra);
  return reply(
    status,
    { error: { status, message, request_id: randomUUID() } },
    third as Record<string, string>,
  );
}

/** The same envelope for `event`: its X-Request-Id echoed like the real stack does, field errors if any. */
export const refuse = (event: Event, status: number, message: string, extra?: Extra): Reply =>
  reply(
    status,
    {
      error: {
        status,
        message,
        ...(extra?.fields ? { errors: extra.fields } : {}),
        request_id: requestIdOf(event),
      },
    },
    extra?.headers,
  );

export const bearer = (event: Event): string =>
  (event.headers?.authorization ?? '').replace(/^Bearer\s+/i, '');

/** What packages/platform/src/auth.ts accepts: asymmetric algorithms only. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

let keys: ReturnType<typeof createRemoteJWKSet> | undefined;

export interface Caller {
  sub: string;
  scopes: Set<string>;
  claims: JWTPayload;
}

const scopesOf = (claims: JWTPayload): Set<string> => {
  const out = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') for (const s of value.split(/\s+/)) s && out.add(s);
    else if (Array.isArray(value)) for (const s of value) typeof s === 'string' && out.add(s);
  };
  add(claims.scope);
  add(claims.scp);
  add(claims.permissions);
  return out;
};

/** The key set could not be had (timeout, refused, not a key set): 503, not the caller's fault. */
const isOutage = (error: unknown): boolean => {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  if (error instanceof joseErrors.JOSEError)
    return error.code === 'ERR_JOSE_GENERIC' && error.message.includes('JSON Web Key Set');
  return error instanceof Error;
};

/**
 * The stage JWT check of the real routes (JWKS from JWT_JWKS_URL fetched once per container, issuer,
 * audience, asymmetric algorithms, `exp` and `sub` required, the route's scopes). Answers the caller,
 * or the reply to return: 401 / 403 / 503 in the real error envelope.
 *   const caller = await verifyJwt(event, 'messages:send'); if ('statusCode' in caller) return caller;
 */
export async function verifyJwt(event: Event, scope: string | readonly string[]): Promise<Caller | Reply> {
  const match = /^Bearer\s+(\S+)$/i.exec(event.headers?.authorization?.trim() ?? '');
  if (!match?.[1]) return refuse(event, 401, 'Not authenticated');
  keys ??= createRemoteJWKSet(new URL(process.env.JWT_JWKS_URL ?? ''), {
    timeoutDuration: 3000,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  });
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(match[1], keys, {
      issuer: process.env.JWT_ISSUER ?? '',
      audience: process.env.JWT_AUDIENCE ?? '',
      algorithms: JWKS_ALGORITHMS,
      requiredClaims: ['exp'],
      clockTolerance: 5,
    }));
  } catch (error) {
    if (isOutage(error))
      return refuse(event, 503, 'Identity provider unavailable.', { headers: { 'retry-after': '1' } });
    return refuse(event, 401, 'Not authenticated');
  }
  if (typeof claims.sub !== 'string' || claims.sub.length === 0)
    return refuse(event, 401, 'Not authenticated');
  const scopes = scopesOf(claims);
  const missing = (typeof scope === 'string' ? [scope] : scope).filter((s) => !scopes.has(s));
  if (missing.length > 0) return refuse(event, 403, `Missing required scope: ${missing.join(' ')}.`);
  return { sub: claims.sub, scopes, claims };
}
