import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { httpHandler } from './http.js';
import type { IdempotencyStore } from './idempotency.js';
import { defineRoute } from './routes.js';

const route = defineRoute({
  method: 'POST',
  path: '/things',
  functionName: 'HttpTestCreateThing',
  handler: 'packages/platform/src/http.test.ts',
  summary: 'test route',
  auth: { kind: 'public' },
  idempotent: true,
  request: { body: v.object({ name: v.string() }) },
  responses: { 201: null },
  access: {},
});

const event = (key: string) =>
  ({
    version: '2.0',
    routeKey: 'POST /things',
    rawPath: '/things',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: '{"name":"a"}',
    requestContext: { http: { method: 'POST', path: '/things' } },
    isBase64Encoded: false,
  }) as never;

describe('Idempotency-Key', () => {
  it('answers the done work even when its response cannot be recorded (an error would invite a repeat)', async () => {
    const created: string[] = [];
    const unrecordable: IdempotencyStore = {
      start: async () => ({ state: 'new' }),
      complete: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
      release: async () => undefined,
    };
    const handler = httpHandler(
      route,
      async ({ body }) => {
        created.push(body.name);
        return { status: 201, body: { name: body.name } };
      },
      { idempotency: unrecordable },
    );
    const result = await handler(event('key-1'), {} as Context);
    expect(result.statusCode).toBe(201);
    expect(JSON.parse(result.body ?? '')).toEqual({ name: 'a' });
    expect(created).toEqual(['a']);
  });
});
