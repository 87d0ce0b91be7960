import { describe, expect, it } from 'vitest';
import { apiGatewayEvent, apiGatewayResponse, RouteMatcher } from './api-events.js';

const routes = [
  { method: 'GET', path: '/messages/{id}' },
  { method: 'POST', path: '/messages/delivery_status' },
  { method: 'GET', path: '/messages' },
  { method: 'GET', path: '/files/{path+}' },
];

describe('RouteMatcher', () => {
  const matcher = new RouteMatcher(routes);

  it('prefers literal segments over parameters and decodes parameters', () => {
    expect(matcher.match('POST', '/messages/delivery_status')?.route.path).toBe('/messages/delivery_status');
    expect(matcher.match('GET', '/messages/a%20b')).toEqual({
      route: routes[0],
      pathParameters: { id: 'a b' },
    });
    expect(matcher.match('GET', '/files/a/b/c')?.pathParameters).toEqual({ path: 'a/b/c' });
  });

  it('does not match another method, a longer path or a trailing segment', () => {
    expect(matcher.match('DELETE', '/messages/1')).toBeUndefined();
    expect(matcher.match('GET', '/messages/1/extra')).toBeUndefined();
    expect(matcher.match('GET', '/nothing')).toBeUndefined();
  });
});

describe('apiGatewayEvent', () => {
  const request = {
    method: 'post',
    url: '/messages/7?limit=5&tag=a&tag=b',
    rawHeaders: ['Content-Type', 'application/json', 'X-Thing', '1', 'x-thing', '2', 'Cookie', 'a=1; b=2'],
    body: Buffer.from('{"x":1}'),
    sourceIp: '127.0.0.1',
  };

  it('builds a payload 2.0 event the way an HTTP API does', () => {
    const event = apiGatewayEvent(request, { method: 'POST', path: '/messages/{id}' }, { id: '7' });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /messages/{id}',
      rawPath: '/messages/7',
      rawQueryString: 'limit=5&tag=a&tag=b',
      headers: { 'content-type': 'application/json', 'x-thing': '1,2' },
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { limit: '5', tag: 'a,b' },
      pathParameters: { id: '7' },
      body: '{"x":1}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/messages/7', sourceIp: '127.0.0.1' },
        stage: '$default',
      },
    });
    expect(event.headers.cookie).toBeUndefined();
  });

  it('base64-encodes binary bodies and leaves out absent parts', () => {
    const binary = apiGatewayEvent(
      {
        ...request,
        url: '/x',
        rawHeaders: ['content-type', 'application/octet-stream'],
        body: Buffer.from([0, 255]),
      },
      { method: 'POST', path: '/x' },
      {},
    );
    expect(binary.isBase64Encoded).toBe(true);
    expect(binary.body).toBe('AP8=');
    expect(binary.pathParameters).toBeUndefined();
    expect(binary.queryStringParameters).toBeUndefined();
  });
});

describe('apiGatewayResponse', () => {
  it('passes structured results through, with cookies and base64 bodies', () => {
    const response = apiGatewayResponse({
      statusCode: 201,
      headers: { 'X-Request-Id': 'r1' },
      cookies: ['s=1'],
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    expect(response.status).toBe(201);
    expect(response.headers).toEqual({ 'x-request-id': 'r1', 'set-cookie': ['s=1'] });
    expect(response.body.toString()).toBe('hi');
  });

  it('treats anything without statusCode as a 200 JSON body', () => {
    const response = apiGatewayResponse({ ok: true } as never);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({ ok: true });
  });
});
