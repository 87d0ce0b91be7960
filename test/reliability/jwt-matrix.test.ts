import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureTable } from '@svc/local/dynamodb';
import { REPO_ROOT } from '@svc/local/functions';
import { type LocalRuntime, startLocalRuntime } from '@svc/local/runtime';
import type { HttpRoute } from '@svc/platform/routes';
import { register } from '@svc/visits/routes';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  CompactSign,
  createLocalJWKSet,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../../infra/lib/services.js';
import { apiEvent, type Invoked, invoke } from '../support/api-event.js';
import { gateway } from '../support/gateway.js';
import { TEST_LIMITS } from '../support/limits.js';
import {
  type Claims,
  claimsOf,
  hmacSigned,
  type MatrixIssuer,
  startMatrixIssuer,
  unsigned,
  withPayload,
} from './jwt-matrix-tokens.js';

/**
 * The JWT attack matrix (SPEC §0 and §1): every route whose auth kind is `jwt` or `service-token`,
 * taken from the same registry the CDK app deploys, gets every credential attack through its real
 * handler and middleware stack, with the route's own valid sample request (events/) so that only the
 * credentials vary. Credential failures are 401, a valid token without the scope is 403, both in the
 * SPEC §0 envelope with a message that names nothing internal; honest tokens get past auth.
 *
 * Handlers run in this process against a private local runtime (own table, SQS, SSM), with the stage's
 * JWT settings pointed at a JWKS issuer whose key the test holds, so each claim can be varied alone
 * under a valid signature.
 */

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const all = services.flatMap((s) => s.routes);
const jwtRoutes = all.filter((r) => r.auth.kind === 'jwt');
const sessionRoutes = all.filter((r) => r.auth.kind === 'service-token');
const TOKEN_SECRET = randomBytes(32).toString('hex');

let runtime: LocalRuntime;
let issuer: MatrixIssuer;
const handlers = new Map<string, Handler>();
const samples = new Map<string, APIGatewayProxyEventV2>();

const eventFileOf = (handler: string) =>
  join(REPO_ROOT, handler.replace(/^functions\//, 'events/').replace(/\.ts$/, '.json'));

/** Handlers read their configuration at import: the function's own environment first, then the import. */
async function load(route: HttpRoute): Promise<void> {
  Object.assign(process.env, runtime.environmentOf(route.functionName));
  if (route.auth.kind === 'jwt') {
    Object.assign(process.env, {
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
      JWT_JWKS_URL: issuer.jwksUrl,
    });
  }
  const module = (await import(pathToFileURL(join(REPO_ROOT, route.handler)).href)) as { handler: Handler };
  handlers.set(route.functionName, module.handler);
  samples.set(
    route.functionName,
    JSON.parse(await readFile(eventFileOf(route.handler), 'utf8')) as APIGatewayProxyEventV2,
  );
}

beforeAll(async () => {
  issuer = await startMatrixIssuer();
  const tableName = `svc-jwt-matrix-${randomUUID().slice(0, 8)}`;
  const dynamodbEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!dynamodbEndpoint) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set: run through vitest');
  await ensureTable(dynamodbEndpoint, tableName);
  runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint,
    tableName,
    schedules: false,
    pollQueues: false,
    logLevel: 'ERROR',
    log: () => undefined,
    parameters: { 'visits-token-secret': TOKEN_SECRET },
    stage: { limits: TEST_LIMITS },
  });
  for (const route of [...jwtRoutes, ...sessionRoutes, register]) await load(route);
});

afterAll(async () => {
  await runtime?.stop();
  await issuer?.stop();
});

/** The route's sample request with only the credentials (and the per-request ids) replaced. */
async function call(route: HttpRoute, authorization: string | undefined): Promise<Invoked> {
  const handler = handlers.get(route.functionName);
  const sample = samples.get(route.functionName);
  if (!handler || !sample) throw new Error(`${route.functionName} not loaded`);
  const headers: Record<string, string> = { ...sample.headers } as Record<string, string>;
  delete headers.authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  if (route.idempotent || headers['idempotency-key']) headers['idempotency-key'] = randomUUID();
  headers['x-request-id'] = `jwt-matrix-${randomUUID()}`;
  const event = apiEvent({
    method: route.method,
    route: route.path,
    ...(sample.pathParameters ? { pathParameters: sample.pathParameters as Record<string, string> } : {}),
    ...(sample.queryStringParameters
      ? { query: sample.queryStringParameters as Record<string, string> }
      : {}),
    headers,
    ...(sample.body !== undefined ? { body: sample.body } : {}),
  });
  const reply = await invoke(handler, event);
  return { ...reply, headers: { ...reply.headers, 'x-sent-request-id': headers['x-request-id'] } };
}

/** Words a 401 must not carry: what failed, which library, which key or claim, any stack or secret. */
const LEAKS =
  /jose|jw[skte]|signature|expired|exp\b|nbf|not.?before|issuer|\biss\b|audience|\baud\b|alg|kid|hmac|rs256|hs256|secret|key|claim|token|stack|error:|\bat\s|\/work|node_modules|\.ts\b|undefined|null/i;

/** `401`/`403`… when the reply is exactly the SPEC §0 envelope for that status, else what was wrong. */
function outcome(reply: Invoked): string {
  const sent = reply.headers['x-sent-request-id'];
  const status = String(reply.status);
  if (reply.status < 400) return status;
  const body = reply.body as { error?: Record<string, unknown> } | undefined;
  const error = body?.error;
  const problems: string[] = [];
  if (!String(reply.headers['content-type']).startsWith('application/json')) problems.push('not JSON');
  if (!error || Object.keys(body ?? {}).length !== 1) problems.push('no error envelope');
  else {
    if (error.status !== reply.status) problems.push(`envelope status ${String(error.status)}`);
    if (typeof error.message !== 'string' || error.message.length === 0) problems.push('no message');
    if (error.request_id !== sent || reply.headers['x-request-id'] !== sent)
      problems.push('request id not echoed');
    const extra = Object.keys(error).filter((k) => !['status', 'message', 'request_id'].includes(k));
    if (extra.length > 0) problems.push(`extra fields ${extra.join(',')}`);
    if (reply.status === 401 && LEAKS.test(String(error.message)))
      problems.push(`leaky message ${JSON.stringify(error.message)}`);
  }
  return problems.length ? `${status} (${problems.join('; ')}: ${JSON.stringify(reply.body)})` : status;
}

const now = () => Math.floor(Date.now() / 1000);
const scopesOf = (route: HttpRoute) => (route.auth.kind === 'jwt' ? route.auth.scopes : []);
const scopeString = (route: HttpRoute) => scopesOf(route).join(' ');

interface Attack {
  name: string;
  /** The Authorization header to send (`undefined`: none). */
  authorization: (route: HttpRoute) => Promise<string | undefined> | string | undefined;
}

const bearer = (token: string) => `Bearer ${token}`;

/** Everything that is not a valid credential from the stage's issuer: each must be a 401. */
const credentialAttacks: Attack[] = [
  { name: 'no Authorization header', authorization: () => undefined },
  { name: 'empty Authorization header', authorization: () => '' },
  { name: 'Bearer with no token', authorization: () => 'Bearer ' },
  { name: 'malformed: not a JWT', authorization: () => bearer('not-a-jwt') },
  { name: 'malformed: three junk segments', authorization: () => bearer('a.b.c') },
  { name: 'malformed: header is not JSON', authorization: () => bearer('bm90IGpzb24.e30.c2ln') },
  {
    name: 'malformed: two segments',
    authorization: async (r) =>
      bearer((await issuer.sign(issuer.claims({ scope: scopeString(r) }))).split('.').slice(0, 2).join('.')),
  },
  {
    name: 'malformed: five segments (JWE shape)',
    authorization: () => bearer('eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn'),
  },
  { name: 'malformed: 8 KB of garbage', authorization: () => bearer('x'.repeat(8192)) },
  { name: 'Bearer followed by two tokens', authorization: () => 'Bearer a.b.c d.e.f' },
  { name: 'Basic scheme', authorization: () => `Basic ${Buffer.from('user:pass').toString('base64')}` },
  {
    // API Gateway joins repeated headers with a comma: two credentials are no credential.
    name: 'two Authorization headers (joined by the gateway)',
    authorization: (r) => {
      const token = issuer.sign(issuer.claims({ scope: scopeString(r) }));
      return `${bearer(token)}, ${bearer(token)}`;
    },
  },
  {
    name: 'valid token without the Bearer scheme (bare)',
    authorization: (r) => issuer.sign(issuer.claims({ scope: scopeString(r) })),
  },
  {
    name: 'valid token under another scheme (Token)',
    authorization: async (r) => `Token ${await issuer.sign(issuer.claims({ scope: scopeString(r) }))}`,
  },
  {
    name: 'expired an hour ago',
    authorization: async (r) =>
      bearer(
        await issuer.sign(issuer.claims({ scope: scopeString(r), iat: now() - 7200, exp: now() - 3600 })),
      ),
  },
  {
    name: 'expired a minute ago (beyond the clock tolerance)',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), iat: now() - 360, exp: now() - 60 }))),
  },
  {
    // A token that never expires cannot be contained once leaked; visits' own tokens require exp too.
    name: 'no expiry (no exp claim)',
    authorization: (r) => bearer(issuer.sign(issuer.claims({ scope: scopeString(r), exp: undefined }))),
  },
  {
    // Signed by the stage's own issuer and unexpired, but valid for a century: a leak would never end.
    name: 'a 100-year lifetime (exp − iat over the stage maximum)',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), exp: now() + 100 * 365 * 86_400 }))),
  },
  {
    name: 'a lifetime one second over the stage maximum of a day',
    authorization: async (r) =>
      bearer(
        await issuer.sign(issuer.claims({ scope: scopeString(r), iat: now() - 60, exp: now() + 86_341 })),
      ),
  },
  {
    name: 'no iat and an exp in 100 years',
    authorization: async (r) =>
      bearer(
        await issuer.sign(
          issuer.claims({ scope: scopeString(r), iat: undefined, exp: now() + 100 * 365 * 86_400 }),
        ),
      ),
  },
  {
    name: 'not yet valid (nbf in an hour)',
    authorization: async (r) =>
      bearer(
        await issuer.sign(issuer.claims({ scope: scopeString(r), nbf: now() + 3600, exp: now() + 7200 })),
      ),
  },
  {
    name: 'wrong issuer',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), iss: 'https://evil.example/' }))),
  },
  {
    name: 'issuer differing only by the trailing slash',
    authorization: async (r) =>
      bearer(
        await issuer.sign(issuer.claims({ scope: scopeString(r), iss: issuer.issuer.replace(/\/$/, '') })),
      ),
  },
  {
    name: 'no issuer',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), iss: undefined }))),
  },
  {
    name: 'wrong audience',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), aud: 'another-api' }))),
  },
  {
    name: 'audience list without ours',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), aud: ['another-api', 'third-api'] }))),
  },
  {
    name: 'no audience',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), aud: undefined }))),
  },
  {
    name: 'no subject',
    authorization: async (r) =>
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), sub: undefined }))),
  },
  {
    name: 'empty subject',
    authorization: async (r) => bearer(await issuer.sign(issuer.claims({ scope: scopeString(r), sub: '' }))),
  },
  ...(['none', 'None', 'NONE'] as const).map(
    (alg): Attack => ({
      name: `alg ${alg}, no signature`,
      authorization: (r) =>
        bearer(unsigned({ alg, typ: 'JWT', kid: issuer.kid }, issuer.claims({ scope: scopeString(r) }))),
    }),
  ),
  {
    name: 'alg none keeping a valid signature',
    authorization: async (r) => {
      const claims = issuer.claims({ scope: scopeString(r) });
      const signature = (await issuer.sign(claims)).split('.')[2];
      return bearer(`${unsigned({ alg: 'none', typ: 'JWT' }, claims)}${signature}`);
    },
  },
  ...(
    [
      ['the SPKI PEM', () => issuer.publicPem],
      ['the SPKI PEM without its final newline', () => issuer.publicPem.trimEnd()],
      ['the public JWK JSON', () => JSON.stringify(issuer.publicJwk)],
      ['the JWKS document', () => issuer.jwksText],
      ['the modulus', () => Buffer.from(String(issuer.publicJwk.n), 'base64url')],
    ] as const
  ).map(
    ([material, secret]): Attack => ({
      name: `HS256 keyed with ${material} of the JWKS key`,
      authorization: (r) =>
        bearer(hmacSigned('HS256', secret(), issuer.claims({ scope: scopeString(r) }), { kid: issuer.kid })),
    }),
  ),
  {
    name: "HS256 with the guessed secret 'secret'",
    authorization: (r) =>
      bearer(hmacSigned('HS256', 'secret', issuer.claims({ scope: scopeString(r) }), { kid: issuer.kid })),
  },
  {
    name: "HS512 with the guessed secret 'secret'",
    authorization: (r) => bearer(hmacSigned('HS512', 'secret', issuer.claims({ scope: scopeString(r) }))),
  },
  {
    name: 'signed by another key under the same kid',
    authorization: async (r) => bearer(await issuer.signAsAttacker(issuer.claims({ scope: scopeString(r) }))),
  },
  {
    name: 'signed by another key without a kid',
    authorization: async (r) =>
      bearer(await issuer.signAsAttacker(issuer.claims({ scope: scopeString(r) }), { kid: undefined })),
  },
  {
    name: 'signed by another key under an unknown kid',
    authorization: async (r) =>
      bearer(await issuer.signAsAttacker(issuer.claims({ scope: scopeString(r) }), { kid: 'unknown-kid' })),
  },
  {
    name: "another key that the token's own jwk header carries",
    authorization: async (r) =>
      bearer(
        await issuer.signAsAttacker(issuer.claims({ scope: scopeString(r) }), {
          kid: undefined,
          jwk: { kty: issuer.attackerJwk.kty, n: issuer.attackerJwk.n, e: issuer.attackerJwk.e },
        }),
      ),
  },
  {
    name: 'another key named by a jku header',
    authorization: async (r) =>
      bearer(
        await issuer.signAsAttacker(issuer.claims({ scope: scopeString(r) }), {
          kid: 'attacker',
          jku: 'http://127.0.0.1:9/jwks.json',
        }),
      ),
  },
  {
    name: 'payload tampered after signing (scope added)',
    authorization: async (r) => {
      const token = await issuer.sign(issuer.claims({ scope: 'nothing' }));
      return bearer(withPayload(token, { ...claimsOf(token), scope: scopeString(r) }));
    },
  },
  {
    name: 'signature stripped',
    authorization: async (r) => {
      const token = await issuer.sign(issuer.claims({ scope: scopeString(r) }));
      return bearer(`${token.split('.').slice(0, 2).join('.')}.`);
    },
  },
  {
    name: 'unknown critical header',
    authorization: async (r) =>
      bearer(
        await issuer.sign(issuer.claims({ scope: scopeString(r) }), { crit: ['x-matrix'], 'x-matrix': 1 }),
      ),
  },
];

/** Valid credentials from the issuer that do not grant the route's scope: each must be a 403. */
const scopeAttacks: Array<{ name: string; claims: (route: HttpRoute) => Claims }> = [
  { name: 'no scope claim at all', claims: () => ({}) },
  { name: 'empty scope string', claims: () => ({ scope: '' }) },
  { name: 'an unrelated scope', claims: () => ({ scope: 'openid profile', scp: ['other:read'] }) },
  {
    name: "another route's scope",
    claims: (r) => {
      const others = [...new Set(jwtRoutes.flatMap(scopesOf))].filter((s) => !scopesOf(r).includes(s));
      return { scope: others.join(' ') };
    },
  },
  { name: 'the scope in upper case', claims: (r) => ({ scope: scopeString(r).toUpperCase() }) },
  {
    name: 'the scope with a suffix',
    claims: (r) => ({
      scope: scopesOf(r)
        .map((s) => `${s}x`)
        .join(' '),
    }),
  },
  {
    name: 'a prefix of the scope',
    claims: (r) => ({
      scope: scopesOf(r)
        .map((s) => s.slice(0, -1))
        .join(' '),
    }),
  },
  { name: 'the scope joined by commas', claims: (r) => ({ scope: `${scopeString(r)},other` }) },
  {
    name: 'the scope under a claim SPEC §0 does not name (scopes)',
    claims: (r) => ({ scopes: scopesOf(r) }),
  },
  { name: 'the scope as a role (roles)', claims: (r) => ({ roles: scopesOf(r) }) },
  { name: 'scope claim of the wrong type (object)', claims: (r) => ({ scope: { [scopeString(r)]: true } }) },
  { name: 'scope claim of the wrong type (number)', claims: () => ({ scope: 42 }) },
  { name: 'scp array of non-strings', claims: () => ({ scp: [null, 7, { a: 1 }, ['x']] }) },
];

/** The claim forms SPEC §0 allows for a granted scope: each must get past auth. */
const grants: Array<{ name: string; claims: (route: HttpRoute) => Claims }> = [
  { name: '`scope` string among others', claims: (r) => ({ scope: `openid ${scopeString(r)} profile` }) },
  { name: '`scp` array', claims: (r) => ({ scp: ['openid', ...scopesOf(r)] }) },
  { name: '`permissions` array', claims: (r) => ({ permissions: [...scopesOf(r), 'other:write'] }) },
];

const name = (route: HttpRoute) => `${route.method} ${route.path} (${route.functionName})`;

describe('the registry has protected routes to attack', () => {
  it('lists jwt and service-token routes, each with a scope and a sample request', () => {
    expect(jwtRoutes.length).toBeGreaterThan(0);
    expect(sessionRoutes.length).toBeGreaterThan(0);
    for (const route of jwtRoutes) expect(scopesOf(route).length, name(route)).toBeGreaterThan(0);
  });
});

describe('the forged tokens are real attacks', () => {
  // Each forgery is a correct JWS under the key it was made with, so a 401 means the service refused
  // that key or algorithm, not that the test produced garbage.
  it('HMAC forgeries verify under their own secret, attacker tokens under the attacker key', async () => {
    const claims = issuer.claims({ scope: 'x' });
    const verifyOptions = { issuer: issuer.issuer, audience: issuer.audience };
    for (const secret of [issuer.publicPem, JSON.stringify(issuer.publicJwk), issuer.jwksText, 'secret']) {
      const token = hmacSigned('HS256', secret, claims, { kid: issuer.kid });
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), verifyOptions);
      expect(payload.sub).toBe('matrix-client');
    }
    const attackerKey = await importJWK(issuer.attackerJwk, 'RS256');
    await expect(jwtVerify(issuer.signAsAttacker(claims), attackerKey, verifyOptions)).resolves.toBeDefined();
    const stageKeys = createLocalJWKSet({ keys: [issuer.publicJwk] });
    await expect(jwtVerify(issuer.sign(claims), stageKeys, verifyOptions)).resolves.toBeDefined();
    await expect(jwtVerify(issuer.signAsAttacker(claims), stageKeys, verifyOptions)).rejects.toThrow();
  });
});

describe.each(jwtRoutes.map((route) => [name(route), route] as const))('JWT route %s', (_, route) => {
  it('answers every credential attack 401 in the error envelope with one message naming nothing internal', async () => {
    const outcomes: Record<string, string> = {};
    const messages = new Set<string>();
    for (const attack of credentialAttacks) {
      const reply = await call(route, await attack.authorization(route));
      outcomes[attack.name] = outcome(reply);
      messages.add(String(reply.body?.error?.message));
    }
    expect(outcomes).toEqual(Object.fromEntries(credentialAttacks.map((a) => [a.name, '401'])));
    expect([...messages]).toEqual(['Not authenticated']);
  });

  it('answers a valid token without the scope 403 in the error envelope', async () => {
    const outcomes: Record<string, string> = {};
    for (const attack of scopeAttacks)
      outcomes[attack.name] = outcome(
        await call(route, bearer(await issuer.sign(issuer.claims(attack.claims(route))))),
      );
    expect(outcomes).toEqual(Object.fromEntries(scopeAttacks.map((a) => [a.name, '403'])));
  });

  it('lets a valid token through with the scope in each claim form SPEC §0 allows', async () => {
    const outcomes: Record<string, number> = {};
    for (const grant of grants) {
      const reply = await call(route, bearer(await issuer.sign(issuer.claims(grant.claims(route)))));
      expect(reply.status, `${grant.name}: ${JSON.stringify(reply.body)}`).toBeLessThan(500);
      expect([401, 403], `${grant.name}: ${JSON.stringify(reply.body)}`).not.toContain(reply.status);
      outcomes[grant.name] = reply.status;
    }
    // The sample request decides the status (202 for a send, 404 for a sample id); the claim form does not.
    expect(new Set(Object.values(outcomes)).size, JSON.stringify(outcomes)).toBe(1);
  });

  it("accepts the scheme's name in any case and a token within the clock tolerance", async () => {
    const fresh = () => issuer.sign(issuer.claims({ scope: scopeString(route) }));
    const lower = await call(route, `bearer ${await fresh()}`);
    const justExpired = await call(
      route,
      bearer(await issuer.sign(issuer.claims({ scope: scopeString(route), exp: now() - 1 }))),
    );
    for (const reply of [lower, justExpired]) {
      expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
      expect([401, 403]).not.toContain(reply.status);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The same attacks that need no private key, end to end through the shared local gateway: its issuer's
// JWKS is public (/__local/jwks.json) and POST /__local/token signs honest tokens. Only rejected requests
// and reads are sent, so nothing changes on the shared runtime.

describe('through the local gateway', () => {
  let jwk: JWK;
  let pem: string;
  let jwksText: string;
  beforeAll(async () => {
    const jwks = await gateway('GET', '/__local/jwks.json');
    jwksText = JSON.stringify(jwks.body);
    jwk = (jwks.body as { keys: JWK[] }).keys[0] as JWK;
    pem = await exportSPKI((await importJWK(jwk, String(jwk.alg))) as Parameters<typeof exportSPKI>[0]);
  });

  const localToken = async (body: Record<string, unknown>) =>
    (await gateway('POST', '/__local/token', { body })).body.access_token as string;

  async function send(route: HttpRoute, authorization: string) {
    const sample = samples.get(route.functionName);
    if (!sample) throw new Error(`${route.functionName} has no sample`);
    const target = sample.rawQueryString ? `${sample.rawPath}?${sample.rawQueryString}` : sample.rawPath;
    const requestId = `jwt-matrix-gw-${randomUUID()}`;
    const reply = await gateway(route.method, target, {
      headers: {
        authorization,
        'x-request-id': requestId,
        ...(route.idempotent ? { 'idempotency-key': randomUUID() } : {}),
      },
      ...(sample.body !== undefined ? { body: sample.body } : {}),
    });
    return outcome({
      status: reply.status,
      body: reply.body,
      headers: {
        ...Object.fromEntries(reply.headers.entries()),
        'x-sent-request-id': requestId,
      },
    });
  }

  it.each(jwtRoutes.map((route) => [name(route), route] as const))(
    '%s: forged and expired tokens are 401, a token without the scope 403',
    async (_, route) => {
      const [honest, expired, unscoped, other] = await Promise.all([
        localToken({ scope: scopeString(route), sub: 'jwt-matrix' }),
        localToken({ scope: scopeString(route), sub: 'jwt-matrix', expires_in: -3600 }),
        localToken({ scope: 'openid', sub: 'jwt-matrix' }),
        localToken({ scope: 'nothing', sub: 'jwt-matrix' }),
      ]);
      const claims = claimsOf(honest);
      const kid = String(jwk.kid);
      // The issuer's own tokens, so a 401 is about the one thing changed: the expiry, or the forging.
      expect(claims.exp).toBeGreaterThan(now());
      expect(claimsOf(expired).exp).toBeLessThan(now() - 3000);
      const attacks: Record<string, string> = {
        'alg none': bearer(unsigned({ alg: 'none', typ: 'JWT', kid }, claims)),
        'HS256 keyed with the served key as PEM': bearer(hmacSigned('HS256', pem, claims, { kid })),
        'HS256 keyed with the served JWKS': bearer(hmacSigned('HS256', jwksText, claims, { kid })),
        'HS256 keyed with the served JWK': bearer(hmacSigned('HS256', JSON.stringify(jwk), claims, { kid })),
        "HS256 with 'secret'": bearer(hmacSigned('HS256', 'secret', claims, { kid })),
        'signed by another key under the same kid': bearer(
          await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
            .setProtectedHeader({ alg: String(jwk.alg), kid, typ: 'JWT' })
            .sign((await generateKeyPair(String(jwk.alg))).privateKey),
        ),
        'scope added after signing': bearer(withPayload(other, claims)),
        expired: bearer(expired),
        'a valid token without the scope': bearer(unscoped),
      };
      // Independent requests, sent together so the suite stays fast on a busy gateway.
      const outcomes = Object.fromEntries(
        await Promise.all(
          Object.entries(attacks).map(async ([attack, authorization]) => [
            attack,
            await send(route, authorization),
          ]),
        ),
      );
      expect(outcomes).toEqual(
        Object.fromEntries(
          Object.keys(attacks).map((a) => [a, a === 'a valid token without the scope' ? '403' : '401']),
        ),
      );
      // Reads only (a send would start real work on the shared runtime): the honest token gets past auth.
      if (route.method === 'GET') {
        const reply = await send(route, bearer(honest));
        expect(['200', '404'], reply).toContain(reply);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// visits' own HS256 session tokens (auth kind 'service-token').

interface Account {
  id: string;
  token: string;
}

async function registerAccount(): Promise<Account> {
  const handler = handlers.get(register.functionName);
  if (!handler) throw new Error('register not loaded');
  const reply = await invoke(
    handler,
    apiEvent({
      method: register.method,
      route: register.path,
      body: {
        email: `matrix-${randomUUID()}@example.com`,
        password: 'correct horse battery',
        first_name: 'Matrix',
        last_name: 'Tester',
      },
    }),
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  const token = reply.body.data.access_token as string;
  return { id: String(claimsOf(token).sub), token };
}

/** An honest session token's claims, re-signed after `change`: only the changed part differs. */
function resigned(account: Account, change: Claims, secret = TOKEN_SECRET, alg: 'HS256' | 'HS512' = 'HS256') {
  return hmacSigned(alg, secret, { ...claimsOf(account.token), ...change });
}

const unregisterRoute = sessionRoutes.find((r) => r.method === 'DELETE' && r.path === register.path);
const logoutRoute = sessionRoutes.find((r) => r.method === 'DELETE' && r.path === '/api/auth/session');

describe('service-token routes (visits session tokens)', () => {
  let account: Account;
  beforeAll(async () => {
    account = await registerAccount();
  });

  const sessionAttacks: Array<{ name: string; authorization: () => Promise<string> | string | undefined }> = [
    { name: 'missing', authorization: () => undefined },
    { name: 'empty', authorization: () => '' },
    { name: 'Bearer with no token', authorization: () => 'Bearer ' },
    { name: 'garbage after Bearer', authorization: () => bearer('garbage') },
    { name: 'bare garbage', authorization: () => 'garbage' },
    { name: 'bare JWT-shaped garbage', authorization: () => 'aaa.bbb.ccc' },
    { name: 'Basic scheme', authorization: () => `Basic ${Buffer.from('a:b').toString('base64')}` },
    {
      name: 'expired',
      authorization: () => bearer(resigned(account, { iat: now() - 90_000, exp: now() - 3600 })),
    },
    {
      name: 'expired (bare)',
      authorization: () => resigned(account, { iat: now() - 90_000, exp: now() - 3600 }),
    },
    { name: 'not yet valid', authorization: () => bearer(resigned(account, { nbf: now() + 3600 })) },
    { name: 'no expiry', authorization: () => bearer(resigned(account, { exp: undefined })) },
    {
      name: 'signed with a wrong secret',
      authorization: () => bearer(resigned(account, {}, randomBytes(32).toString('hex'))),
    },
    { name: "signed with 'secret'", authorization: () => bearer(resigned(account, {}, 'secret')) },
    {
      name: 'right secret, HS512',
      authorization: () => bearer(resigned(account, {}, TOKEN_SECRET, 'HS512')),
    },
    {
      name: 'right secret, wrong issuer',
      authorization: () => bearer(resigned(account, { iss: 'svc-other' })),
    },
    {
      name: 'right secret, wrong audience',
      authorization: () => bearer(resigned(account, { aud: 'svc-other' })),
    },
    { name: 'right secret, no subject', authorization: () => bearer(resigned(account, { sub: undefined })) },
    // A token without an id could never be logged out.
    { name: 'right secret, no jti', authorization: () => bearer(resigned(account, { jti: undefined })) },
    {
      name: 'right secret, unknown user',
      authorization: () => bearer(resigned(account, { sub: randomUUID() })),
    },
    {
      name: 'alg none',
      authorization: () => bearer(unsigned({ alg: 'none', typ: 'JWT' }, claimsOf(account.token))),
    },
    {
      name: 'alg none (bare)',
      authorization: () => unsigned({ alg: 'none', typ: 'JWT' }, claimsOf(account.token)),
    },
    {
      name: 'alg none keeping the real signature',
      authorization: () =>
        bearer(
          `${unsigned({ alg: 'none', typ: 'JWT' }, claimsOf(account.token))}${account.token.split('.')[2]}`,
        ),
    },
    {
      name: 'signature stripped',
      authorization: () => bearer(`${account.token.split('.').slice(0, 2).join('.')}.`),
    },
    {
      name: 'payload tampered (another user)',
      authorization: () =>
        bearer(withPayload(account.token, { ...claimsOf(account.token), sub: randomUUID() })),
    },
    {
      name: "the stage issuer's JWT for the same subject",
      authorization: () => bearer(issuer.sign(issuer.claims({ sub: account.id, scope: 'openid' }))),
    },
  ];

  it.each(sessionRoutes.map((route) => [name(route), route] as const))(
    '%s: every bad credential is 401 "Not authenticated" in the envelope',
    async (_, route) => {
      const outcomes: Record<string, string> = {};
      const messages = new Set<string>();
      for (const attack of sessionAttacks) {
        const reply = await call(route, await attack.authorization());
        outcomes[attack.name] = outcome(reply);
        messages.add(String(reply.body?.error?.message));
      }
      expect(outcomes).toEqual(Object.fromEntries(sessionAttacks.map((a) => [a.name, '401'])));
      expect([...messages]).toEqual(['Not authenticated']);
    },
  );

  it.each(sessionRoutes.map((route) => [name(route), route] as const))(
    '%s: the session token is accepted bare and after Bearer (and as the test re-signs it)',
    async (_, route) => {
      // Deleting the account (unregister) and revoking the token (logout) are what those routes do, so
      // they get a fresh account per form.
      const own = route === unregisterRoute || route === logoutRoute;
      // The third form is the test's own re-signing of the same claims with the stage secret: the
      // control that makes every forged variant above differ from a valid token in one thing only.
      for (const form of ['bare', 'Bearer', 're-signed'] as const) {
        const caller = own ? await registerAccount() : account;
        const authorization = {
          bare: caller.token,
          Bearer: bearer(caller.token),
          're-signed': bearer(resigned(caller, {})),
        }[form];
        const reply = await call(route, authorization);
        expect(reply.status, `${form}: ${JSON.stringify(reply.body)}`).toBeLessThan(500);
        expect([401, 403], `${form}: ${JSON.stringify(reply.body)}`).not.toContain(reply.status);
      }
    },
  );

  it('a logged-out token is 401 on every route, bare or after Bearer; the re-signed copy too', async () => {
    expect(logoutRoute).toBeDefined();
    const out = await registerAccount();
    const before = await call(logoutRoute!, bearer(out.token));
    expect(before.status, JSON.stringify(before.body)).toBe(204);
    const outcomes: Record<string, string> = {};
    for (const route of sessionRoutes) {
      outcomes[`${name(route)} Bearer`] = outcome(await call(route, bearer(out.token)));
      outcomes[`${name(route)} bare`] = outcome(await call(route, out.token));
      outcomes[`${name(route)} re-signed`] = outcome(await call(route, bearer(resigned(out, {}))));
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, '401'])));
  });

  it("a deleted account's token is 401 on every route, bare or after Bearer", async () => {
    expect(unregisterRoute).toBeDefined();
    const gone = await registerAccount();
    const before = await call(unregisterRoute!, bearer(gone.token));
    expect(before.status, JSON.stringify(before.body)).toBe(204);
    const outcomes: Record<string, string> = {};
    for (const route of sessionRoutes) {
      outcomes[`${name(route)} Bearer`] = outcome(await call(route, bearer(gone.token)));
      outcomes[`${name(route)} bare`] = outcome(await call(route, gone.token));
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, '401'])));
  });
});
