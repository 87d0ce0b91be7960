import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { buildOpenApi, undocumentedRoutes } from './openapi.js';
import { ErrorBody } from './openapi-shapes.js';
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
    // What the shared stack answers by itself is added: bad input, throttling (a public route, no table).
    expect(Object.keys(op?.responses as object)).toEqual(['201', '400', '415', '422', '429']);
    expect(op?.requestBody).toMatchObject({ required: true });
    expect(op?.security).toEqual([]);
  });

  it('names the error envelope once and refers to it, with the headers each status sends', () => {
    const jwtRoute = defineRoute({
      ...good,
      method: 'GET',
      path: '/things/{thingId}',
      functionName: 'ThingsGet',
      auth: { kind: 'jwt', scopes: ['things:read'] },
      request: { path: good.request.path },
      responses: { 200: Thing, 303: null, 404: ErrorBody },
      responseHeaders: { 200: ['Cache-Control'] },
      access: { table: 'read' },
    });
    const doc = buildOpenApi(serviceOf(jwtRoute)) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, Record<string, unknown>>; security: unknown }>
      >;
      components: {
        schemas: Record<string, unknown>;
        securitySchemes: Record<string, Record<string, unknown>>;
      };
    };
    const op = doc.paths['/things/{thingId}']?.get;
    expect(Object.keys(op?.responses ?? {})).toEqual([
      '200',
      '303',
      '400',
      '401',
      '403',
      '404',
      '429',
      '503',
    ]);
    expect(op?.security).toEqual([{ stageJwt: ['things:read'] }]);
    const errorRef = { $ref: '#/components/schemas/Error' };
    for (const status of ['400', '401', '403', '404', '429', '503']) {
      expect(op?.responses[status]?.content).toEqual({ 'application/json': { schema: errorRef } });
      expect(op?.responses[status]?.headers).toHaveProperty('X-Request-Id');
    }
    expect(Object.keys(op?.responses['429']?.headers as object)).toEqual(['X-Request-Id', 'Retry-After']);
    expect(Object.keys(op?.responses['503']?.headers as object)).toEqual(['X-Request-Id', 'Retry-After']);
    expect(Object.keys(op?.responses['303']?.headers as object)).toEqual(['X-Request-Id', 'Location']);
    expect(Object.keys(op?.responses['200']?.headers as object)).toEqual(['X-Request-Id', 'Cache-Control']);
    expect(Object.keys(doc.components.schemas)).toEqual(['Error', 'ThingsGet200']);
    expect(doc.components.securitySchemes.stageJwt).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { scopes: { 'things:read': 'Needed by ThingsGet' } } },
    });
  });
});
