import { readFileSync } from 'node:fs';
import type { ServiceDefinition } from '@svc/platform/routes';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INVOKE_PAYLOAD_BYTES, MAX_REQUEST_BODY_BYTES } from './api-events.js';
import { visibilityTimeoutSecondsOf } from './environment.js';
import { fixtureJsonBody } from './fixtures/routes.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';

/** A service made of fixtures, so the runtime is tested without depending on any real service. */
const fixtureService: ServiceDefinition = {
  name: 'fixture',
  queues: ['fixture-work', 'fixture-timed'],
  routes: [
    fixtureJsonBody,
    {
      method: 'GET',
      path: '/sleepy',
      functionName: 'FixtureSleepy',
      handler: 'packages/local/src/fixtures/sleepy.ts',
      summary: 'sleeps, or answers a large body',
      auth: { kind: 'public' },
      request: {},
      responses: { 200: null },
      access: {},
      timeoutSeconds: 4,
    },
    {
      method: 'POST',
      path: '/sleepy',
      functionName: 'FixtureSleepyPost',
      handler: 'packages/local/src/fixtures/sleepy.ts',
      summary: 'takes a body it does not answer with',
      auth: { kind: 'public' },
      request: {},
      responses: { 200: null },
      access: {},
    },
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
    {
      functionName: 'FixtureTimedConsumer',
      handler: 'packages/local/src/fixtures/timed-consumer.ts',
      summary: 'logs its receives; postpones, fails or answers a malformed response on request',
      queue: 'fixture-timed',
      batchSize: 1,
      timeoutSeconds: 3,
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
    {
      functionName: 'FixtureFailingTick',
      handler: 'packages/local/src/fixtures/failing-tick.ts',
      summary: 'always fails',
      schedule: 'fixture-failing',
      access: {},
    },
  ],
};

/** Everything the functions printed, by function name. */
const logs: Array<{ functionName: string; line: string }> = [];

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
    scheduleDuplicateEvery: 2,
    log: (functionName, line) => {
      logs.push({ functionName, line });
    },
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

  it("refuses a request whose event is over Lambda's 6 MB quota with 413, and over the HTTP API's 10 MB too", async () => {
    const post = (body: string | Uint8Array, contentType?: string) =>
      fetch(`${runtime.url}/sleepy`, {
        method: 'POST',
        ...(contentType ? { headers: { 'content-type': contentType } } : {}),
        body,
      });
    const under = await post('x'.repeat(6_000_000), 'text/plain');
    expect(under.status).toBe(200);
    // The event carries the body: 6.2 MB of text is over once the rest of the event is added.
    const over = await post('x'.repeat(MAX_INVOKE_PAYLOAD_BYTES - 200), 'text/plain');
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ message: 'Request Entity Too Large' });
    // A binary body travels base64-encoded: 5 MB of bytes is 6.7 MB of event.
    const binary = await post(new Uint8Array(5_000_000).fill(7), 'application/octet-stream');
    expect(binary.status).toBe(413);
    const overGateway = await post('x'.repeat(MAX_REQUEST_BODY_BYTES + 1), 'text/plain');
    expect(overGateway.status).toBe(413);
    expect(await overGateway.json()).toEqual({ message: 'Request Entity Too Large' });
  });

  it('fails a response over 6 MB as a function error (500), and passes one under it', async () => {
    const big = await fetch(`${runtime.url}/sleepy?bytes=${MAX_INVOKE_PAYLOAD_BYTES}`);
    expect(big.status).toBe(500);
    expect(await big.json()).toEqual({ message: 'Internal Server Error' });
    const fits = await fetch(`${runtime.url}/sleepy?bytes=${5_000_000}`);
    expect(fits.status).toBe(200);
    expect(((await fits.json()) as { padding: string }).padding.length).toBe(5_000_000);
  });

  it('answers a function timeout with 500, as the HTTP API does for a function error', async () => {
    const response = await fetch(`${runtime.url}/sleepy?ms=5000`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('gives every concurrent invocation its own sandbox: a timeout fails only its own request, no module state is shared', async () => {
    const sleepy = (ms: number) =>
      fetch(`${runtime.url}/sleepy?ms=${ms}`).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { sandboxId: string; inFlight: number; served: number },
      }));
    const before = runtime.sandboxes('FixtureSleepy');
    // Four at once: the pool grows to four sandboxes (cold starts, each counted), all warm afterwards.
    const warmUp = await Promise.all([1, 2, 3, 4].map(() => sleepy(300)));
    expect(warmUp.map((w) => w.status)).toEqual([200, 200, 200, 200]);
    await until(
      async () => runtime.sandboxes('FixtureSleepy'),
      (p) => p.sandboxes === 4 && p.busy === 0,
      30_000,
    );
    const warmed = runtime.sandboxes('FixtureSleepy');
    expect(warmed.sandboxes).toBe(4);
    expect(warmed.coldStarts - before.coldStarts).toBeGreaterThanOrEqual(4 - before.sandboxes);

    // One request runs into its 4 s timeout while three others are in flight.
    const slow = sleepy(10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const quick = await Promise.all([1, 2, 3].map(() => sleepy(3500)));
    expect((await slow).status).toBe(500);
    for (const { status, body } of quick) {
      expect(status).toBe(200);
      // Each ran alone in its module: no state shared with the invocations next to it.
      expect(body.inFlight).toBe(1);
    }
    expect(new Set(quick.map((q) => q.body.sandboxId)).size).toBe(3);
    // Warm sandboxes were reused; only the timed-out one was thrown away.
    const after = runtime.sandboxes('FixtureSleepy');
    expect(after.coldStarts).toBe(warmed.coldStarts);
    expect(after.sandboxes).toBe(3);
  }, 40_000);

  it('builds the event as an HTTP API does: time, request id header, x-forwarded-*, decoded rawPath', async () => {
    const response = await fetch(`${runtime.url}/echo/a%20b?q=c%20d`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    const { event } = (await response.json()) as {
      event: {
        rawPath: string;
        rawQueryString: string;
        pathParameters: Record<string, string>;
        headers: Record<string, string>;
        requestContext: { requestId: string; time: string; timeEpoch: number; http: { path: string } };
      };
    };
    expect(response.headers.get('apigw-requestid')).toBe(event.requestContext.requestId);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.rawPath).toBe('/echo/a b');
    expect(event.requestContext.http.path).toBe('/echo/a b');
    expect(event.rawQueryString).toBe('q=c%20d');
    expect(event.pathParameters).toEqual({ id: 'a b' });
    expect(event.headers).toMatchObject({
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': new URL(runtime.url).port,
    });
    // Gateway answers of its own carry one too.
    expect((await fetch(`${runtime.url}/nowhere`)).headers.get('apigw-requestid')).toMatch(
      /^[A-Za-z0-9]{15}=$/,
    );
  });

  it('base64-encodes form and untyped bodies as API Gateway does, and the platform answers them with clean envelopes', async () => {
    const bytes = Uint8Array.from([0xff, 0x00, 0xfe, 0x80]);
    const untyped = await fetch(`${runtime.url}/sleepy`, { method: 'POST', body: bytes });
    expect(untyped.status).toBe(200);
    const echo = async (body: Uint8Array | string, contentType?: string) => {
      const response = await fetch(`${runtime.url}/echo/x`, {
        method: 'POST',
        ...(contentType ? { headers: { 'content-type': contentType } } : {}),
        body,
      });
      return ((await response.json()) as { event: { body: string; isBase64Encoded: boolean } }).event;
    };
    const binary = await echo(bytes);
    expect(binary.isBase64Encoded).toBe(true);
    expect([...Buffer.from(binary.body, 'base64')]).toEqual([...bytes]);
    const form = await echo('a=1&b=2', 'application/x-www-form-urlencoded');
    expect(form).toMatchObject({ isBase64Encoded: true, body: Buffer.from('a=1&b=2').toString('base64') });
    expect(await echo('{"a":1}', 'application/json; charset=utf-8')).toMatchObject({
      isBase64Encoded: false,
      body: '{"a":1}',
    });

    const post = (body: Uint8Array | string, contentType?: string) =>
      fetch(`${runtime.url}/json-body`, {
        method: 'POST',
        ...(contentType ? { headers: { 'content-type': contentType } } : {}),
        body,
      });
    const envelope = async (response: Response) => ({
      status: response.status,
      body: (await response.json()) as { error: { status: number; message: string; request_id: string } },
    });
    for (const [response, status] of [
      [await post('name=ann', 'application/x-www-form-urlencoded'), 415],
      [await post(bytes), 415],
      [await post('{"name":', 'application/json'), 400],
    ] as const) {
      const { status: got, body } = await envelope(response);
      expect(got).toBe(status);
      expect(body.error).toMatchObject({ status, request_id: expect.any(String) });
    }
    const good = await post('{"name":"ann"}', 'application/json');
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ name: 'ann' });
  });

  it('listens on loopback only, every server it starts', () => {
    const listening = (port: number) => {
      const found: string[] = [];
      for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        for (const row of text.split('\n').slice(1)) {
          const [, local, , state] = row.trim().split(/\s+/);
          if (state !== '0A' || !local) continue;
          const [address, hexPort] = local.split(':');
          if (Number.parseInt(hexPort ?? '', 16) === port) found.push(address ?? '');
        }
      }
      return found;
    };
    // 127.0.0.1 as /proc/net/tcp writes it (little-endian hex), or ::ffff:127.0.0.1 / ::1 in tcp6.
    const loopback = new Set([
      '0100007F',
      '0000000000000000FFFF00000100007F',
      '00000000000000000000000001000000',
    ]);
    const { dynamodb: _reused, ...started } = runtime.endpoints;
    const urls = [runtime.url, runtime.queueClock.directSqsEndpoint, ...Object.values(started)];
    if (listening(new URL(runtime.url).port ? Number(new URL(runtime.url).port) : 0).length === 0) return; // no /proc
    for (const url of urls) {
      const addresses = listening(Number(new URL(url).port));
      expect(addresses.length, url).toBeGreaterThan(0);
      for (const address of addresses)
        expect(loopback.has(address), `${url} listens on ${address}`).toBe(true);
    }
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
    // What Scheduler sends with no Input: its default notification, whose detail is the string "{}".
    expect(body).toEqual({
      schedule: 'fixture-tick',
      result: { ran: true, source: 'aws.scheduler', detail: '{}' },
    });
    expect((await helper('/schedules/nope/run', { method: 'POST' })).status).toBe(404);
  });
});

describe('scheduler', () => {
  it('invokes asynchronously: a failing run is tried 3 times, 1 and 2 minutes apart in local time, then dead-lettered', async () => {
    const started = Date.now();
    const deliveries = await runtime.fireSchedule('fixture-failing');
    const elapsed = Date.now() - started;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ attempts: 3, outcome: 'dead-lettered', duplicate: false });
    // (60 + 120) s × the time factor (1/30) = 6 s of waiting between the attempts.
    expect(elapsed).toBeGreaterThanOrEqual(180_000 * runtime.timeFactor - 50);
    expect(await runtime.scheduleDeadLetters('fixture-failing')).toBe(1);
  }, 30_000);

  it('delivers an occasional run twice (the same event), deterministically', async () => {
    // scheduleDuplicateEvery: 2 — the second run of the schedule is the duplicated one.
    const first = await runtime.fireSchedule('fixture-tick');
    const second = await runtime.fireSchedule('fixture-tick');
    expect(first).toMatchObject([{ attempts: 1, outcome: 'succeeded', duplicate: false }]);
    expect(second).toHaveLength(2);
    expect(second.map((d) => d.duplicate).sort()).toEqual([false, true]);
    expect(second[0]?.eventId).toBe(second[1]?.eventId);
    expect(await runtime.scheduleDeadLetters('fixture-tick')).toBe(0);
  });
});

/** The receives the timed consumer logged for one message, in order. */
function receivesOf(messageId: string): Array<{ count: number; at: number }> {
  return logs
    .filter((l) => l.functionName === 'FixtureTimedConsumer' && l.line.includes(messageId))
    .map((l) => JSON.parse(l.line) as { received: string; count: number; at: number })
    .filter((r) => r.received === messageId);
}

describe('queues', () => {
  it("keeps a consumer's own delay (scaled by the time factor) and brings other failures back after the queue's scaled timeout", async () => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const { localSqsClient } = await import('./queues.js');
    const sqs = localSqsClient(runtime.endpoints.sqs);
    const url = runtime.environmentOf('FixtureTimedConsumer').SQS_QUEUE_URL;
    try {
      // 150 AWS seconds (a Retry-After) = 5 s locally, past the queue's own 2.4 s (72 s in AWS here).
      const sent = await sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: '{"postponeFirst":150}' }),
      );
      const id = sent.MessageId ?? '';
      const receives = await until(
        async () => receivesOf(id),
        (r) => r.length >= 3,
        30_000,
      );
      expect(receives.map((r) => r.count)).toEqual([1, 2, 3]);
      const [first, second, third] = receives as unknown as [{ at: number }, { at: number }, { at: number }];
      const queueSeconds =
        visibilityTimeoutSecondsOf(fixtureService, 'fixture-timed', runtime.stage) * runtime.timeFactor;
      expect(queueSeconds).toBeCloseTo(2.4, 5);
      // The consumer's delay stood (the mapping did not shorten it to the queue's timeout) ...
      expect(second.at - first.at).toBeGreaterThanOrEqual(150_000 * runtime.timeFactor - 100);
      // ... and the next failure came back after the queue's own timeout, counted from its receive.
      expect(third.at - second.at).toBeGreaterThanOrEqual(queueSeconds * 1000 - 100);
      expect(third.at - second.at).toBeLessThan(queueSeconds * 1000 + 2000);
      const settled = await until(
        () => runtime.queues(),
        (q) => q['fixture-timed']?.dlq === 1,
        15_000,
      );
      expect(settled['fixture-timed']).toEqual({ visible: 0, in_flight: 0, dlq: 1 });
    } finally {
      sqs.destroy();
    }
  }, 60_000);

  it('treats a batchItemFailures that is not a list as a failed batch, retried then dead-lettered, without crashing', async () => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const { localSqsClient } = await import('./queues.js');
    const sqs = localSqsClient(runtime.endpoints.sqs);
    const url = runtime.environmentOf('FixtureTimedConsumer').SQS_QUEUE_URL;
    try {
      const sent = await sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: '{"malformed":true}' }),
      );
      const id = sent.MessageId ?? '';
      await until(
        async () => receivesOf(id),
        (r) => r.length >= 3,
        30_000,
      );
      expect(receivesOf(id).map((r) => r.count)).toEqual([1, 2, 3]);
      const settled = await until(
        () => runtime.queues(),
        (q) => q['fixture-timed']?.dlq === 2 && q['fixture-timed'].in_flight === 0,
        15_000,
      );
      expect(settled['fixture-timed']).toEqual({ visible: 0, in_flight: 0, dlq: 2 });
      // The mappings still work afterwards.
      const after = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{}' }));
      await until(
        async () => receivesOf(after.MessageId ?? ''),
        (r) => r.length >= 1,
        15_000,
      );
      expect(receivesOf(after.MessageId ?? '')).toHaveLength(1);
    } finally {
      sqs.destroy();
    }
  }, 60_000);

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
