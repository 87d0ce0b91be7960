import type { ServiceDefinition } from '@svc/platform/routes';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from './api-events.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';

/** A service made of fixtures, so the runtime is tested without depending on any real service. */
const fixtureService: ServiceDefinition = {
  name: 'fixture',
  queues: ['fixture-work'],
  routes: [
    {
      method: 'GET',
      path: '/echo/{id}',
      functionName: 'FixtureEcho',
      handler: 'packages/local/src/fixtures/echo.ts',
      summary: 'echo',
      auth: { kind: 'public' },
      request: {},
      responses: { 200: null },
      access: { table: 'read', sendsTo: ['fixture-work'], parameters: ['fixture-secret'] },
    },
    {
      method: 'POST',
      path: '/echo/{id}',
      functionName: 'FixtureEchoJwt',
      handler: 'packages/local/src/fixtures/echo.ts',
      summary: 'echo with a JWT route',
      auth: { kind: 'jwt', scopes: ['fixture:write'] },
      request: {},
      responses: { 200: null },
      access: {},
    },
  ],
  consumers: [
    {
      functionName: 'FixtureConsumer',
      handler: 'packages/local/src/fixtures/picky-consumer.ts',
      summary: 'fails records that ask for it',
      queue: 'fixture-work',
      batchSize: 10,
      access: {},
    },
  ],
  schedules: [
    {
      functionName: 'FixtureTick',
      handler: 'packages/local/src/fixtures/tick.ts',
      summary: 'tick',
      schedule: 'fixture-tick',
      access: {},
    },
  ],
};

let runtime: LocalRuntime;

async function helper(path: string, init: RequestInit = {}) {
  const response = await fetch(`${runtime.url}/__local${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  runtime = await startLocalRuntime({
    services: [fixtureService],
    port: 0,
    // The global test setup already runs DynamoDB Local; reuse it instead of a second JVM.
    ...(process.env.AWS_ENDPOINT_URL_DYNAMODB
      ? { dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }
      : {}),
    tableName: 'svc-local-runtime-test',
    parameters: { 'fixture-secret': 'shh' },
    schedules: false,
    callbackDelayMs: 50,
    // A stage override reaches every function; one naming the gateway's own URLs cannot move them.
    stage: {
      settings: { providerTimeoutMs: 4321, provider1Url: 'http://elsewhere.example/sms' },
      functions: { timeoutSeconds: 12 },
    },
    log: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('gateway', () => {
  it('invokes the route handler with an API Gateway v2 event and the CDK environment contract', async () => {
    const response = await fetch(`${runtime.url}/echo/abc?x=1`, { headers: { 'x-request-id': 'r-1' } });
    expect(response.status).toBe(200);
    const { event, env } = (await response.json()) as {
      event: {
        routeKey: string;
        pathParameters: Record<string, string>;
        queryStringParameters: Record<string, string>;
      };
      env: Record<string, string>;
    };
    expect(event.routeKey).toBe('GET /echo/{id}');
    expect(event.pathParameters).toEqual({ id: 'abc' });
    expect(event.queryStringParameters).toEqual({ x: '1' });
    expect(env).toMatchObject({
      STAGE: 'local',
      POWERTOOLS_SERVICE_NAME: 'fixture',
      TABLE_NAME: 'svc-local-runtime-test',
      PARAM_FIXTURE_SECRET: '/svc/local/fixture-secret',
      QUEUE_URL_FIXTURE_WORK: `${runtime.endpoints.sqs}/000000000000/svc-local-fixture-work`,
      REPORT_INTERVAL_MINUTES: '1',
      SQS_MAX_RECEIVE_COUNT: '3',
      PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
      CALLBACK_BASE_URL: runtime.url,
      AWS_ENDPOINT_URL_DYNAMODB: runtime.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SSM: runtime.endpoints.ssm,
      AWS_REGION: 'us-east-1',
    });
    // Only what the route table grants: a public route gets no JWT settings, and nothing leaks from the host.
    expect(env.JWT_ISSUER).toBeUndefined();
    expect(env.HOME).toBeUndefined();
  });

  it('applies stage overrides to the environment but keeps the fakes and issuer on the gateway', () => {
    expect(runtime.stage.functions.timeoutSeconds).toBe(12);
    expect(runtime.environmentOf('FixtureEcho')).toMatchObject({
      PROVIDER_TIMEOUT_MS: '4321',
      PROVIDER1_URL: `${runtime.url}/__local/providers/provider1/sms`,
    });
    expect(runtime.stage.auth.issuer).toBe(`${runtime.url}/__local`);
  });

  it('gives JWT routes the issuer settings, and answers unknown routes like the $default route', async () => {
    const env = runtime.environmentOf('FixtureEchoJwt');
    expect(env.JWT_ISSUER).toBe(`${runtime.url}/__local`);
    expect(env.JWT_JWKS_URL).toBe(`${runtime.url}/__local/jwks.json`);
    expect(env.TABLE_NAME).toBeUndefined();
    const missing = await fetch(`${runtime.url}/echo/abc/more`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { status: number } }).error.status).toBe(404);
  });

  it('passes a body up to the 10 MB payload quota and answers 413 above it, as an HTTP API does', async () => {
    const post = (bytes: number) =>
      fetch(`${runtime.url}/echo/big`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'x'.repeat(bytes),
      });
    const atLimit = await post(MAX_REQUEST_BODY_BYTES);
    expect(atLimit.status).toBe(200);
    const { event } = (await atLimit.json()) as { event: { body: string } };
    expect(event.body.length).toBe(MAX_REQUEST_BODY_BYTES);
    const over = await post(MAX_REQUEST_BODY_BYTES + 1);
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ message: 'Request Entity Too Large' });
  });
});

describe('local helpers', () => {
  it('issues tokens that verify against the local JWKS with the stage issuer and audience', async () => {
    const { status, body } = await helper('/token', {
      method: 'POST',
      body: JSON.stringify({ scope: 'messages:send', sub: 'caller-1' }),
    });
    expect(status).toBe(200);
    const keys = createRemoteJWKSet(new URL(`${runtime.url}/__local/jwks.json`));
    const { payload } = await jwtVerify(String(body.access_token), keys, {
      issuer: runtime.stage.auth.issuer,
      audience: runtime.stage.auth.audience,
    });
    expect(payload).toMatchObject({ sub: 'caller-1', scope: 'messages:send' });
  });

  it('fakes SMS providers: ok answers with an id and calls back, down answers 500, all in the outbox', async () => {
    const callbacks: unknown[] = [];
    const { createServer } = await import('node:http');
    const sink = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString();
      });
      req.on('end', () => {
        callbacks.push(JSON.parse(text));
        res.end('{}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const callbackUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/cb`;
    try {
      const send = () =>
        fetch(runtime.stage.settings.provider1Url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to_number: '+15550001111', message: 'hi', callback_url: callbackUrl }),
        });
      const ok = await send();
      expect(ok.status).toBe(200);
      const { message_id } = (await ok.json()) as { message_id: string };
      await until(
        async () => callbacks.length,
        (n) => n > 0,
        5000,
      );
      expect(callbacks).toEqual([{ status: 'delivered', message_id }]);

      expect((await helper('/providers/provider1', { method: 'POST', body: '{"mode":"down"}' })).status).toBe(
        200,
      );
      expect((await send()).status).toBe(500);
      const outbox = await helper('/outbox');
      expect(outbox.body.sms).toMatchObject([
        { provider: 'provider1', to_number: '+15550001111', status_code: 200, message_id },
        { provider: 'provider1', status_code: 500 },
      ]);
      expect((outbox.body.sms as Array<Record<string, unknown>>)[1]?.message_id).toBeUndefined();
      expect(
        (await helper('/providers/provider1', { method: 'POST', body: '{"mode":"sideways"}' })).status,
      ).toBe(422);
    } finally {
      runtime.fakes.reset();
      sink.close();
    }
  });

  it('runs a scheduled job on demand with a Scheduler event', async () => {
    const { status, body } = await helper('/schedules/fixture-tick/run', { method: 'POST' });
    expect(status).toBe(200);
    expect(body).toEqual({ schedule: 'fixture-tick', result: { ran: true, source: 'aws.scheduler' } });
    expect((await helper('/schedules/nope/run', { method: 'POST' })).status).toBe(404);
  });
});

describe('queues', () => {
  it('deletes what the consumer processed, moves a record failing 3 times to the DLQ, and redrives it', async () => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const { localSqsClient } = await import('./queues.js');
    const sqs = localSqsClient(runtime.endpoints.sqs);
    const url = runtime.environmentOf('FixtureEcho').QUEUE_URL_FIXTURE_WORK;
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"fail":false}' }));
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"fail":true}' }));
      const settled = await until(
        () => runtime.queues(),
        (q) =>
          q['fixture-work']?.dlq === 1 &&
          q['fixture-work'].visible === 0 &&
          q['fixture-work'].in_flight === 0,
        25_000,
      );
      expect(settled['fixture-work']).toEqual({ visible: 0, in_flight: 0, dlq: 1 });

      const redriven = await helper('/queues/fixture-work/redrive', { method: 'POST' });
      expect(redriven.body).toEqual({ queue: 'fixture-work', moved: 1 });
      // Back in the source queue, it fails its 3 attempts again and returns to the DLQ.
      const again = await until(
        () => runtime.queues(),
        (q) =>
          q['fixture-work']?.dlq === 1 &&
          q['fixture-work'].visible === 0 &&
          q['fixture-work'].in_flight === 0,
        25_000,
      );
      expect(again['fixture-work']?.dlq).toBe(1);
    } finally {
      sqs.destroy();
    }
  }, 60_000);
});
