import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakerPhase, CircuitBreaker } from '@svc/dispatch/breaker';
import { submitMessage } from '@svc/dispatch/messages';
import { toE164 } from '@svc/dispatch/phone';
import type { SmsProvider, SmsRequest, SmsResult } from '@svc/dispatch/providers';
import type { MessageQueue, SendJob } from '@svc/dispatch/queue';
import type { SenderDeps } from '@svc/dispatch/sender';
import type { StageOverrides } from '@svc/infra/stage-config';
import { ensureTable } from '@svc/local/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '@svc/local/runtime';
import type { ServiceDefinition } from '@svc/platform/routes';
import type { SQSEvent } from 'aws-lambda';
import { type CallOptions, call, type Reply } from '../support/gateway.js';
import { startTestIssuer } from '../support/issuer.js';
import { TEST_LIMITS } from '../support/limits.js';

/** A queue that only remembers what it was given. */
export function memoryQueue(): MessageQueue & { jobs: SendJob[] } {
  const jobs: SendJob[] = [];
  return {
    jobs,
    async enqueue(job) {
      jobs.push(job);
    },
  };
}

export type Behaviour = (request: SmsRequest) => SmsResult | Promise<SmsResult>;

export const ok: Behaviour = () => ({ kind: 'accepted', messageId: randomUUID() });
export const down: Behaviour = () => ({ kind: 'unavailable', detail: 'answered 500' });

/** A provider port fake that logs every call and what it answered. */
export function fakeProvider(name: string, behaviour: Behaviour = ok) {
  const calls: { request: SmsRequest; result: SmsResult; messageId: string }[] = [];
  const provider: SmsProvider & { calls: typeof calls; behaviour: Behaviour } = {
    name,
    calls,
    behaviour,
    async send(request) {
      const result = await provider.behaviour(request);
      const messageId = new URL(request.callbackUrl).searchParams.get('id') ?? '';
      calls.push({ request, result, messageId });
      return result;
    },
  };
  return provider;
}

/** A breaker that is always closed and only counts what it was told. */
export function closedBreaker(): CircuitBreaker & { failures: string[]; successes: string[] } {
  const failures: string[] = [];
  const successes: string[] = [];
  return {
    failures,
    successes,
    async phases(names) {
      return new Map(names.map((n) => [n, 'closed' as BreakerPhase]));
    },
    async tryProbe() {
      return true;
    },
    async recordSuccess(name) {
      successes.push(name);
    },
    async recordFailure(name) {
      failures.push(name);
    },
  };
}

/** Sender dependencies with two fake providers; `random` 0 picks provider1 first, 0.99 provider2. */
export function senderWith(
  p1: ReturnType<typeof fakeProvider>,
  p2: ReturnType<typeof fakeProvider>,
  overrides: Partial<SenderDeps> = {},
): SenderDeps {
  return {
    providers: [p1, p2],
    weights: [
      { name: p1.name, weight: 30 },
      { name: p2.name, weight: 70 },
    ],
    breaker: closedBreaker(),
    // The fake reads the id back from the URL, so calls can be attributed to messages.
    callbackUrl: async (id) => `https://api.example.test/messages/delivery_status?id=${id}`,
    maxReceiveCount: 3,
    leaseMs: 5_000,
    random: () => 0,
    ...overrides,
  };
}

const used = new Set<string>();
/** A valid US number not used before in this run, so suppression and listings do not mix tests. */
export function uniqueNumber(): string {
  for (;;) {
    const exchange = 200 + Math.floor(Math.random() * 700);
    const line = String(Math.floor(Math.random() * 10_000)).padStart(4, '0');
    const number = toE164(`415${exchange}${line}`);
    if (number && !used.has(number)) {
      used.add(number);
      return number;
    }
  }
}

export async function queuedMessage(text = 'hello', toNumber = uniqueNumber()) {
  const queue = memoryQueue();
  const accepted = await submitMessage({ to_number: toNumber, message: text }, { queue });
  return { ...accepted, job: queue.jobs[0] as SendJob };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A JWKS issuer for the stage settings, so the handlers' real authenticator checks our tokens. */
export const startIssuer = () => startTestIssuer('dispatch');

export type HttpMode = 'ok' | 'down' | 'slow';

/** Two SMS providers over HTTP (SPEC §5 API) with a switchable mode and a log of every call. */
export async function startProviderServer() {
  const modes: Record<string, HttpMode> = { provider1: 'ok', provider2: 'ok' };
  const calls: { provider: string; body: Record<string, string>; status: number; messageId?: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    req.on('end', () => {
      const provider = (req.url ?? '').split('/')[1] ?? '';
      const body = JSON.parse(raw || '{}') as Record<string, string>;
      const answer = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      const mode = modes[provider] ?? 'down';
      if (mode === 'down') {
        calls.push({ provider, body, status: 500 });
        return answer(500, { error: 'down' });
      }
      if (mode === 'slow') {
        calls.push({ provider, body, status: 0 });
        return void setTimeout(() => answer(200, { message_id: randomUUID() }), 2_000);
      }
      const messageId = randomUUID();
      calls.push({ provider, body, status: 200, messageId });
      answer(200, { message_id: messageId });
    });
  });
  const url = await listen(server);
  return {
    url,
    modes,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An SQS event of `dispatch-send` records, as Lambda delivers it. */
export function sqsEvent(records: { body: string; receiveCount?: number }[]): SQSEvent {
  return {
    Records: records.map(({ body, receiveCount }) => ({
      messageId: randomUUID(),
      receiptHandle: `handle-${randomUUID()}`,
      body,
      attributes: {
        ApproximateReceiveCount: String(receiveCount ?? 1),
        SentTimestamp: String(Date.now()),
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:svc-test-dispatch-send',
      awsRegion: 'us-east-1',
    })),
  };
}

export interface OwnRuntime {
  runtime: LocalRuntime;
  /** Like test/support/gateway's `gateway()`, against this runtime. */
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  stop(): Promise<void>;
}

/**
 * A local runtime (the system `pnpm dev` starts) for one test file, on its own table, for tests that
 * change the fakes' global behaviour (provider modes, Slack mode) and so must not do it on the runtime
 * the global setup shares between files.
 */
export async function startOwnRuntime(
  services: readonly ServiceDefinition[],
  stage?: StageOverrides,
): Promise<OwnRuntime> {
  const dynamodbEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!dynamodbEndpoint) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set: run through vitest');
  const tableName = `svc-own-${randomUUID().slice(0, 8)}`;
  await ensureTable(dynamodbEndpoint, tableName);
  const runtime = await startLocalRuntime({
    port: 0,
    services,
    dynamodbEndpoint,
    tableName,
    schedules: false,
    logLevel: 'ERROR',
    log: () => undefined,
    stage: { limits: TEST_LIMITS, ...(stage ?? {}) },
  });
  return {
    runtime,
    call: (method, path, options = {}) => call(runtime.url, method, path, options),
    stop: () => runtime.stop(),
  };
}
