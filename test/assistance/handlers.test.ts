import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, invoke } from '../support/api-event.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const ISSUER = 'https://issuer.assistance.test/';
const AUDIENCE = 'assistance-api';
const SLACK_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/svc-test-assistance-slack';
const EMAIL_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/svc-test-assistance-email';
const RULES = {
  rules: [
    { topic: 'sales', channel: 'slack' },
    { topic: 'pricing', channel: 'email', recipients: ['pricing@example.com'] },
    { topic: 'Support', channel: 'email', recipients: ['support@example.com'] },
  ],
};

const sqs = mockClient(SQSClient);
const ssm = mockClient(SSMClient);
let jwks: Server;
let privateKey: SigningKey;
let otherKey: SigningKey;
let publicJwk: JWK;
let post: Handler;
let get: Handler;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
    PARAM_ASSISTANCE_ROUTING_RULES: '/svc/test/assistance-routing-rules',
    QUEUE_URL_ASSISTANCE_SLACK: SLACK_QUEUE,
    QUEUE_URL_ASSISTANCE_EMAIL: EMAIL_QUEUE,
  });
  // Handlers read their configuration at import, so they are imported once the environment is set.
  post = (await import('../../functions/assistance/request-assistance.js')).handler as Handler;
  get = (await import('../../functions/assistance/get-assistance-request.js')).handler as Handler;
});

afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: randomUUID() });
  ssm.reset();
  ssm
    .on(GetParameterCommand, { Name: '/svc/test/assistance-routing-rules' })
    .resolves({ Parameter: { Value: JSON.stringify(RULES) } });
});

interface TokenOptions {
  key?: SigningKey;
  issuer?: string;
  audience?: string;
  exp?: number | string;
  sub?: string;
  claims?: Record<string, unknown>;
}

function token(options: TokenOptions = {}) {
  return new SignJWT({ scope: 'request-assistance', ...options.claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject(options.sub ?? 'caller-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(options.key ?? privateKey);
}

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

const request = (body: unknown, headers: Record<string, string>) =>
  invoke(post, apiEvent({ method: 'POST', route: '/assistance', headers, body }));

const fetchRequest = (id: string, headers: Record<string, string>) =>
  invoke(get, apiEvent({ method: 'GET', route: '/assistance/{id}', pathParameters: { id }, headers }));

const sentMessages = () =>
  sqs.commandCalls(SendMessageCommand).map((c) => ({
    queue: c.args[0].input.QueueUrl,
    body: JSON.parse(c.args[0].input.MessageBody ?? '{}'),
  }));

describe('POST /assistance', () => {
  it('stores, queues on the channel queue and answers 202 at once; GET shows it queued', async () => {
    const headers = auth(await token());
    const res = await request({ topic: 'sales', description: 'Need a quote' }, headers);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      topic: 'sales',
      channel: 'slack',
      status: 'queued',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    expect(sentMessages()).toEqual([
      { queue: SLACK_QUEUE, body: { requestId: res.body.id, channel: 'slack' } },
    ]);
    const status = await fetchRequest(res.body.id, headers);
    expect(status.status).toBe(200);
    expect(status.body).toEqual({
      id: res.body.id,
      topic: 'sales',
      channel: 'slack',
      status: 'queued',
      attempts: 0,
      delivered_at: null,
    });
  });

  it('matches topics case-insensitively', async () => {
    const headers = auth(await token());
    const res = await request({ topic: 'PRICING', description: 'How much?' }, headers);
    expect(res.body).toMatchObject({ topic: 'pricing', channel: 'email' });
    expect(sentMessages()[0]?.queue).toBe(EMAIL_QUEUE);
    expect((await request({ topic: 'support', description: 'x' }, headers)).body.channel).toBe('email');
  });

  it('answers 422 listing the known topics for an unknown topic, and queues nothing', async () => {
    const res = await request({ topic: 'refunds', description: 'x' }, auth(await token()));
    expect(res.status).toBe(422);
    expect(res.body.error.errors.topic[0]).toContain('sales, pricing, support');
    expect(sentMessages()).toEqual([]);
  });

  it.each([
    ['an empty description', { topic: 'sales', description: '' }, 'description'],
    ['a blank description', { topic: 'sales', description: '   ' }, 'description'],
    ['4001 characters', { topic: 'sales', description: 'x'.repeat(4001) }, 'description'],
    ['a missing topic', { description: 'x' }, 'topic'],
    ['a numeric topic', { topic: 1, description: 'x' }, 'topic'],
  ])('answers 422 for %s', async (_, body, field) => {
    const res = await request(body, auth(await token()));
    expect(res.status).toBe(422);
    expect(res.body.error.errors).toHaveProperty(field);
    expect(sentMessages()).toEqual([]);
  });

  it('accepts 4000 characters, counted as characters not UTF-16 units', async () => {
    const headers = auth(await token());
    expect((await request({ topic: 'sales', description: 'x'.repeat(4000) }, headers)).status).toBe(202);
    expect((await request({ topic: 'sales', description: '🙂'.repeat(4000) }, headers)).status).toBe(202);
  });

  it('answers 400 for malformed JSON and 415 for another content type', async () => {
    const headers = auth(await token());
    expect((await request('{"topic":', { ...headers, 'content-type': 'application/json' })).status).toBe(400);
    const res = await request(JSON.stringify({ topic: 'sales', description: 'x' }), {
      ...headers,
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(415);
  });

  it('answers 503 with Retry-After when the request cannot be queued', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('queue unavailable'));
    const res = await request({ topic: 'sales', description: 'x' }, auth(await token()));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(JSON.stringify(res.body)).not.toContain('queue unavailable');
  });

  it('replays a repeated Idempotency-Key without queueing again', async () => {
    const headers = { ...auth(await token()), 'idempotency-key': randomUUID() };
    const first = await request({ topic: 'sales', description: 'once' }, headers);
    const again = await request({ topic: 'sales', description: 'once' }, headers);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(sentMessages()).toHaveLength(1);
    expect((await request({ topic: 'sales', description: 'other' }, headers)).status).toBe(422);
  });
});

describe('GET /assistance/{id}', () => {
  it('answers 404 to another caller, as for an unknown id', async () => {
    const created = await request(
      { topic: 'sales', description: 'mine' },
      auth(await token({ sub: 'alice' })),
    );
    const other = await fetchRequest(created.body.id, auth(await token({ sub: 'bob' })));
    expect(other.status).toBe(404);
    const unknown = await fetchRequest(randomUUID(), auth(await token({ sub: 'bob' })));
    expect(unknown.status).toBe(404);
    expect(other.body.error.message).toBe(unknown.body.error.message);
    expect((await fetchRequest(created.body.id, auth(await token({ sub: 'alice' })))).status).toBe(200);
  });

  it('answers 400 for an id that is not a UUID', async () => {
    const res = await fetchRequest('42', auth(await token()));
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty('id');
  });
});

describe('bearer JWT matrix', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<Record<string, string>>, number][] = [
    ['no Authorization header', async () => ({}), 401],
    ['a non-bearer scheme', async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), 401],
    ['an expired token', async () => auth(await token({ exp: now() - 120 })), 401],
    [
      'a token not valid yet (nbf in 10 minutes)',
      async () =>
        auth(
          await new SignJWT({ scope: 'request-assistance' })
            .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
            .setSubject('caller-1')
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setNotBefore(now() + 600)
            .setExpirationTime('20m')
            .sign(privateKey),
        ),
      401,
    ],
    ['a wrong issuer', async () => auth(await token({ issuer: 'https://evil.example/' })), 401],
    ['a wrong audience', async () => auth(await token({ audience: 'another-api' })), 401],
    ['a token signed by another key', async () => auth(await token({ key: otherKey })), 401],
    [
      'alg none',
      async () =>
        auth(
          new UnsecuredJWT({ scope: 'request-assistance' })
            .setSubject('caller-1')
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setExpirationTime('5m')
            .encode(),
        ),
      401,
    ],
    [
      'HS256 forged with the public JWK as the secret',
      async () =>
        auth(
          await new SignJWT({ scope: 'request-assistance' })
            .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
            .setSubject('caller-1')
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setExpirationTime('5m')
            .sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
        ),
      401,
    ],
    ['a garbage token', async () => ({ authorization: 'Bearer not.a.jwt' }), 401],
    [
      'a valid token without the scope',
      async () => auth(await token({ claims: { scope: 'read-stats' } })),
      403,
    ],
    [
      'the scope in an scp array',
      async () => auth(await token({ claims: { scope: undefined, scp: ['request-assistance'] } })),
      202,
    ],
  ];

  it.each(cases)('POST with %s → %i', async (_, headers, expected) => {
    const res = await request({ topic: 'sales', description: 'x' }, await headers());
    expect(res.status).toBe(expected);
    if (expected >= 400) {
      expect(res.body.error.status).toBe(expected);
      expect(sentMessages()).toEqual([]);
    }
  });

  it.each(cases)('GET with %s → %i', async (_, headers, expected) => {
    const res = await fetchRequest(randomUUID(), await headers());
    // a valid caller reaches the lookup, which finds nothing
    expect(res.status).toBe(expected === 202 ? 404 : expected);
  });
});
