import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { allowedMethods, defaultRouteHandler, documentedRoutes, unmatchedRoute } from './unmatched-route.js';

const routes = [
  { method: 'GET', path: '/api/visit/{id}' },
  { method: 'PUT', path: '/api/visit/{id}/complete' },
  { method: 'POST', path: '/api/visit/{id}/transaction' },
  { method: 'DELETE', path: '/api/visit/{id}' },
  { method: 'POST', path: '/api/visit' },
  { method: 'GET', path: '/files/{key+}' },
];

const event = (method: string, rawPath: string, headers: Record<string, string> = {}) =>
  ({
    rawPath,
    headers,
    requestContext: { http: { method, path: rawPath } },
  }) as unknown as APIGatewayProxyEventV2;

describe('unmatched routes (SPEC §0)', () => {
  it('lists the methods of every template that matches the concrete path, once each, sorted', () => {
    expect(allowedMethods(routes, '/api/visit/abc')).toEqual(['DELETE', 'GET']);
    expect(allowedMethods(routes, '/api/visit')).toEqual(['POST']);
    expect(allowedMethods(routes, '/api/visit/abc/complete')).toEqual(['PUT']);
    expect(allowedMethods(routes, '/files/a/b/c')).toEqual(['GET']);
    expect(allowedMethods(routes, '/files/')).toEqual([]);
    expect(allowedMethods(routes, '/api/visit//complete')).toEqual([]);
    expect(allowedMethods(routes, '/api/visit/abc/complete/more')).toEqual([]);
    expect(allowedMethods(routes, '/api')).toEqual([]);
  });

  it('answers 405 with Allow for a known path, in the envelope with the request id', () => {
    const answer = unmatchedRoute(routes, '/api/visit/abc', 'req-1');
    expect(answer.statusCode).toBe(405);
    expect(answer.headers).toMatchObject({ allow: 'DELETE, GET', 'x-request-id': 'req-1' });
    expect(JSON.parse(String(answer.body))).toEqual({
      error: {
        status: 405,
        message: 'Method not allowed; this path takes DELETE, GET.',
        request_id: 'req-1',
      },
    });
  });

  it('answers 404 without Allow for a path no route has', () => {
    const answer = unmatchedRoute(routes, '/nope', 'req-2');
    expect(answer.statusCode).toBe(404);
    expect(answer.headers).not.toHaveProperty('allow');
    expect(JSON.parse(String(answer.body))).toEqual({
      error: { status: 404, message: 'Not found.', request_id: 'req-2' },
    });
  });

  it('reads the routes of an OpenAPI document, ignoring non-method keys', () => {
    const document = { paths: { '/a/{id}': { get: {}, delete: {}, parameters: [] }, '/b': { post: {} } } };
    expect(documentedRoutes(document)).toEqual([
      { method: 'GET', path: '/a/{id}' },
      { method: 'DELETE', path: '/a/{id}' },
      { method: 'POST', path: '/b' },
    ]);
  });

  describe('the $default route handler', () => {
    const document = { openapi: '3.1.0', paths: { '/a/{id}': { get: {} } } };
    const handler = defaultRouteHandler(document);

    it('serves the API document at GET /openapi.json', async () => {
      const answer = await handler(event('GET', '/openapi.json', { 'X-Request-Id': 'mine' }));
      expect(answer.statusCode).toBe(200);
      expect(answer.headers?.['x-request-id']).toBe('mine');
      expect(JSON.parse(String(answer.body))).toEqual(document);
      const other = await handler(event('POST', '/openapi.json'));
      expect([other.statusCode, other.headers?.allow]).toEqual([405, 'GET']);
    });

    it('answers 405 / 404 from the document, with a fresh request id for an insane one', async () => {
      const wrong = await handler(event('DELETE', '/a/1', { 'x-request-id': 'bad id with spaces' }));
      expect([wrong.statusCode, wrong.headers?.allow]).toEqual([405, 'GET']);
      expect(wrong.headers?.['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await handler(event('GET', '/b'))).statusCode).toBe(404);
    });
  });
});
