import { describe, expect, it } from 'vitest';
import { apiGatewayEvent, apiGatewayResponse, RouteMatcher, requestTime } from './api-events.js';

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

describe('apiGatewayEvent as an HTTP API builds it', () => {
  const base = {
    method: 'GET',
    url: '/files/a%20b%2Fc?q=x%20y',
    rawHeaders: ['X-Forwarded-For', '198.51.100.1'],
    body: Buffer.alloc(0),
    sourceIp: '203.0.113.7',
  };

  it('writes requestContext.time in the HTTP API format and keeps timeEpoch in milliseconds', () => {
    const now = new Date(Date.UTC(2026, 0, 5, 3, 4, 5, 678));
    const event = apiGatewayEvent(base, { method: 'GET', path: '/files/{path+}' }, {}, now);
    expect(event.requestContext.time).toBe('05/Jan/2026:03:04:05 +0000');
    expect(requestTime(new Date(Date.UTC(2026, 11, 31, 23, 59, 59)))).toBe('31/Dec/2026:23:59:59 +0000');
    expect(event.requestContext.timeEpoch).toBe(now.getTime());
    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9]{15}=$/);
  });

  it('decodes the path (rawPath and http.path) but not the query string', () => {
    const event = apiGatewayEvent(base, { method: 'GET', path: '/files/{path+}' }, {});
    expect(event.rawPath).toBe('/files/a b/c');
    expect(event.requestContext.http.path).toBe('/files/a b/c');
    expect(event.rawQueryString).toBe('q=x%20y');
    // A malformed escape is left as it came.
    expect(
      apiGatewayEvent({ ...base, url: '/files/%E0%A4' }, { method: 'GET', path: '/x' }, {}).rawPath,
    ).toBe('/files/%E0%A4');
  });

  it('adds the x-forwarded-* and trace headers, appending the client to a forwarding chain', () => {
    const event = apiGatewayEvent(
      { ...base, port: 3000, protocol: 'http' },
      { method: 'GET', path: '/x' },
      {},
    );
    expect(event.headers).toMatchObject({
      'x-forwarded-for': '198.51.100.1, 203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '3000',
    });
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    const direct = apiGatewayEvent({ ...base, rawHeaders: [] }, { method: 'GET', path: '/x' }, {});
    expect(direct.headers).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
    });
  });

  it('passes only text/*, JSON, XML and JavaScript bodies as text; everything else is base64', () => {
    const bodyAs = (contentType: string | undefined, body = Buffer.from('a=1&b=%20')) =>
      apiGatewayEvent(
        { ...base, method: 'POST', rawHeaders: contentType ? ['Content-Type', contentType] : [], body },
        { method: 'POST', path: '/x' },
        {},
      );
    for (const text of [
      'text/plain',
      'text/csv; charset=utf-8',
      'application/json',
      'application/xml',
      'application/javascript',
    ])
      expect(bodyAs(text), text).toMatchObject({ isBase64Encoded: false, body: 'a=1&b=%20' });
    for (const binary of [
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'image/png',
      undefined,
    ])
      expect(bodyAs(binary), String(binary)).toMatchObject({
        isBase64Encoded: true,
        body: Buffer.from('a=1&b=%20').toString('base64'),
      });
    // Bytes that are not UTF-8 survive exactly when no Content-Type is sent.
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    expect(Buffer.from(bodyAs(undefined, raw).body ?? '', 'base64')).toEqual(raw);
  });
});
