import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { buildOpenApi, undocumentedRoutes } from './openapi.js';
import { defineRoute, type HttpRoute, type ServiceDefinition } from './routes.js';

const Thing = v.object({ id: v.string() });
const good = defineRoute({
  method: 'POST',
  path: '/things/{thingId}',
  functionName: 'ThingsCreate',
  handler: 'functions/things/create.ts',
  summary: 'create',
  auth: { kind: 'public' },
  request: { path: v.object({ thingId: v.string() }), body: Thing },
  responses: { 201: Thing, 422: Thing },
  access: {},
});
const serviceOf = (...routes: HttpRoute[]): ServiceDefinition[] => [{ name: 'things', routes }];
const problemsOf = (changes: Partial<HttpRoute>) => undocumentedRoutes(serviceOf({ ...good, ...changes }));

describe('undocumentedRoutes', () => {
  it('accepts a fully described route, and a 204 without a body', () => {
    expect(undocumentedRoutes(serviceOf(good))).toEqual([]);
    expect(
      problemsOf({ method: 'DELETE', request: good.request, responses: { 204: null, 404: Thing } }),
    ).toEqual([]);
  });

  it.each([
    ['no success response', { responses: { 422: Thing } }],
    ['no schema for 201', { responses: { 201: null, 422: Thing } }],
    ['no error responses', { responses: { 201: Thing } }],
    ['no schema for path parameter thingId', { request: { body: Thing } }],
    ['no schema for path parameter other', { path: '/things/{thingId}/{other}' }],
    ['no request body schema', { request: { path: good.request.path } }],
  ] as [string, Partial<HttpRoute>][])('names a route with %s', (problem, changes) => {
    expect(problemsOf(changes)).toEqual([`POST ${changes.path ?? good.path} (ThingsCreate): ${problem}`]);
  });

  it('lets a deliberately bodyless write through', () => {
    expect(problemsOf({ request: { path: good.request.path }, bodyless: true })).toEqual([]);
  });
});

describe('buildOpenApi', () => {
  it('documents the route with its parameters, body and responses', () => {
    const doc = buildOpenApi(serviceOf({ ...good, idempotent: true })) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const op = doc.paths['/things/{thingId}']?.post;
    expect(op?.operationId).toBe('ThingsCreate');
    expect(op?.parameters).toEqual([
      { name: 'thingId', in: 'path', required: true, schema: { type: 'string' } },
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    ]);
    expect(Object.keys(op?.responses as object)).toEqual(['201', '422']);
    expect(op?.requestBody).toMatchObject({ required: true });
  });
});
