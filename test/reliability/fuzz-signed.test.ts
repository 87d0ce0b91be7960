import { createHmac, randomUUID } from 'node:crypto';
import { type LocalRuntime, startLocalRuntime } from '@svc/local/runtime';
import { receiveWebhook, tasksService, WEBHOOK_SECRET_PARAMETER } from '@svc/tasks/routes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClient, contractProblem, send, tableText } from './fuzz-client.js';
import { garbageBody, headerValue, MARK, type RawBody } from './fuzz-inputs.js';

/**
 * The tasks webhook with a signing secret set (SPEC §2): the shared runtime leaves it unset, so this file
 * runs its own tasks-only runtime and table. Whatever the body, a request without a valid signature and a
 * fresh timestamp is exactly 401 with the error envelope and stores nothing; a correctly signed
 * well-formed event is 202. Reproduce with FUZZ_SEED=<seed>.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25) * 2;
const SECRET = `fuzz-${randomUUID()}`;
const TABLE = `svc-fuzz-signed-${randomUUID().slice(0, 8)}`;
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;

type Signing =
  | { kind: 'none' }
  | { kind: 'garbage'; signature: string; timestamp: string }
  | { kind: 'wrongSecret' }
  | { kind: 'otherBody' }
  | { kind: 'stale'; skewSeconds: number }
  | { kind: 'valid'; upper: boolean; skewSeconds: number; padded: boolean };

const hmac = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

const wellFormedEvent = fc
  .record({ content: fc.string({ unit: 'binary', maxLength: 200 }), isCompleted: fc.boolean() })
  .map((e) =>
    JSON.stringify({
      event: 'created',
      timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString(),
      metadata: {
        userId: `u-${MARK}`,
        id: `t-${MARK}`,
        content: `${e.content} ${MARK}`,
        isCompleted: e.isCompleted,
      },
    }),
  );

const signing: fc.Arbitrary<Signing> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc
    .record({
      signature: fc.oneof(
        headerValue,
        fc.stringMatching(/^[0-9a-f]{0,70}$/).map((h) => `sha256=${h}`),
      ),
      timestamp: headerValue,
    })
    .map((g) => ({ kind: 'garbage' as const, ...g })),
  fc.constant({ kind: 'wrongSecret' as const }),
  fc.constant({ kind: 'otherBody' as const }),
  fc
    .oneof(fc.integer({ min: 301, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -301 }))
    .map((skewSeconds) => ({ kind: 'stale' as const, skewSeconds })),
  fc
    .record({ upper: fc.boolean(), skewSeconds: fc.integer({ min: -240, max: 240 }), padded: fc.boolean() })
    .map((v) => ({ kind: 'valid' as const, ...v })),
);

describe.skipIf(!endpoint)('signed tasks webhook under fuzzed signatures', () => {
  let runtime: LocalRuntime;
  const rejected: string[] = [];
  const accepted: string[] = [];

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      services: [tasksService],
      port: 0,
      ...(endpoint ? { dynamodbEndpoint: endpoint } : {}),
      tableName: TABLE,
      parameters: { [WEBHOOK_SECRET_PARAMETER]: SECRET },
      schedules: false,
      pollQueues: false,
      log: () => undefined,
      logLevel: 'ERROR',
    });
  }, 60_000);

  afterAll(async () => {
    closeClient();
    await runtime?.stop();
  });

  it('answers 401 without a valid signature, and accepts a signed well-formed event', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ body: fc.oneof(wellFormedEvent, garbageBody), sig: signing }),
        fc.option(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'), {
          nil: undefined,
        }),
        async ({ body: generated, sig }, contentType) => {
          const marker = randomUUID();
          const body: RawBody =
            typeof generated === 'string' ? generated.split(MARK).join(marker) : generated;
          const raw = Buffer.from(body ?? '');
          const now = Math.floor(Date.now() / 1000);
          const headers: Record<string, string> = { ...(contentType ? { 'content-type': contentType } : {}) };
          if (sig.kind === 'garbage') {
            headers['x-webhook-signature'] = sig.signature;
            headers['x-webhook-timestamp'] = sig.timestamp;
          } else if (sig.kind !== 'none') {
            const mac =
              sig.kind === 'wrongSecret'
                ? hmac(`${SECRET}x`, raw)
                : sig.kind === 'otherBody'
                  ? hmac(SECRET, Buffer.concat([raw, Buffer.from(' ')]))
                  : hmac(SECRET, raw);
            const upper = sig.kind === 'valid' && sig.upper;
            const value = `sha256=${upper ? mac.toUpperCase() : mac}`;
            headers['x-webhook-signature'] = sig.kind === 'valid' && sig.padded ? ` ${value} ` : value;
            headers['x-webhook-timestamp'] = String(
              now + (sig.kind === 'valid' || sig.kind === 'stale' ? sig.skewSeconds : 0),
            );
          }
          const reply = await send(
            {
              method: receiveWebhook.method,
              target: receiveWebhook.path,
              headers,
              ...(body !== undefined ? { body } : {}),
            },
            runtime.url,
          );
          const what = `${JSON.stringify(sig)} ${JSON.stringify(headers)} body ${String(body).slice(0, 200)} → ${reply.status} ${reply.text.slice(0, 300)}`;
          expect(reply.status, what).toBeLessThan(500);
          expect(contractProblem(reply, undefined), what).toBeUndefined();
          if (sig.kind !== 'valid') {
            expect(reply.status, what).toBe(401);
            rejected.push(marker);
          } else {
            expect(reply.status, what).not.toBe(401);
            const isEvent = typeof generated === 'string' && generated.includes(`"u-${MARK}"`);
            const jsonType = contentType !== undefined && contentType !== 'text/plain';
            if (isEvent && jsonType) {
              expect(reply.status, what).toBe(202);
              accepted.push(marker);
            }
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(rejected.length).toBeGreaterThan(0);
    const items = await tableText(TABLE);
    const stored = (m: string) => items.some((item) => item.includes(m));
    expect(rejected.filter(stored)).toEqual([]);
    // The positive control: the same search finds every signed event that was accepted.
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.filter((m) => !stored(m))).toEqual([]);
  }, 60_000);
});
