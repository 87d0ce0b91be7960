import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpHandler } from './http.js';
import { logger } from './logger.js';
import { defineRoute } from './routes.js';

/** JSON lines the shared logger wrote while `run` ran (Powertools writes through process.stdout). */
async function captureLines(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  const level = logger.getLevelName();
  logger.setLogLevel('INFO');
  try {
    await run();
  } finally {
    logger.setLogLevel(level);
    write.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const route = defineRoute({
  method: 'GET',
  path: '/things/{id}',
  functionName: 'LoggerTestGetThing',
  handler: 'packages/platform/src/logger.test.ts',
  summary: 'test route',
  auth: { kind: 'public' },
  request: { path: v.object({ id: v.string() }) },
  responses: { 200: null },
  access: {},
});

const event = (requestId: string) =>
  ({
    version: '2.0',
    routeKey: 'GET /things/{id}',
    rawPath: '/things/1',
    rawQueryString: '',
    headers: { 'x-request-id': requestId },
    pathParameters: { id: '1' },
    requestContext: { http: { method: 'GET', path: '/things/1' } },
    isBase64Encoded: false,
  }) as never;

afterEach(() => vi.restoreAllMocks());

describe('request logs', () => {
  it('carry the request id and route on every line, the handler’s own and the access line', async () => {
    const handler = httpHandler(route, async ({ log }) => {
      log.info('looked the thing up', { found: true });
      return { status: 200, body: { ok: true } };
    });
    const lines = await captureLines(async () => {
      await handler(event('req-a'), {} as Context);
      await handler(event('req-b'), {} as Context);
    });
    const own = lines.filter((l) => l.message === 'looked the thing up');
    const access = lines.filter((l) => l.message === 'request');
    expect(own.map((l) => [l.request_id, l.route, l.found])).toEqual([
      ['req-a', 'LoggerTestGetThing', true],
      ['req-b', 'LoggerTestGetThing', true],
    ]);
    expect(access.map((l) => [l.request_id, l.status])).toEqual([
      ['req-a', 200],
      ['req-b', 200],
    ]);
  });

  it('does not carry one request’s keys into the next', async () => {
    const handler = httpHandler(route, async ({ log, requestId }) => {
      log.info('step', requestId === 'first' ? { only_first: 1 } : {});
      return { status: 200, body: {} };
    });
    const lines = await captureLines(async () => {
      await handler(event('first'), {} as Context);
      await handler(event('second'), {} as Context);
    });
    const second = lines.find((l) => l.message === 'step' && l.request_id === 'second');
    expect(second).toBeDefined();
    expect(second).not.toHaveProperty('only_first');
  });
});
