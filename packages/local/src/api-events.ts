import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

/** What API Gateway v2 matches a request against: `GET /courses/{courseId}` and `{proxy+}` greedy params. */
export interface RouteKey {
  method: string;
  path: string;
}

export interface MatchedRoute<T extends RouteKey> {
  route: T;
  pathParameters: Record<string, string>;
}

interface CompiledRoute<T> {
  route: T;
  pattern: RegExp;
  names: string[];
  /** Literal segments win over parameters, parameters over greedy ones (API Gateway's priority). */
  rank: number[];
}

/** Matches method + path the way an HTTP API does; a path that matches with another method is still 404. */
export class RouteMatcher<T extends RouteKey> {
  private readonly compiled: CompiledRoute<T>[];

  constructor(routes: readonly T[]) {
    this.compiled = routes.map((route) => compile(route)).sort((a, b) => compareRank(a.rank, b.rank));
  }

  match(method: string, path: string): MatchedRoute<T> | undefined {
    for (const candidate of this.compiled) {
      if (candidate.route.method !== method.toUpperCase()) continue;
      const found = candidate.pattern.exec(path);
      if (!found) continue;
      const pathParameters: Record<string, string> = {};
      candidate.names.forEach((name, i) => {
        pathParameters[name] = safeDecode(found[i + 1] ?? '');
      });
      return { route: candidate.route, pathParameters };
    }
    return undefined;
  }
}

function compile<T extends RouteKey>(route: T): CompiledRoute<T> {
  const names: string[] = [];
  const rank: number[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(segment);
      if (greedy?.[1]) {
        names.push(greedy[1]);
        rank.push(2);
        return '(.+)';
      }
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        rank.push(1);
        return '([^/]+)';
      }
      rank.push(0);
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names, rank };
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return b.length - a.length;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export interface IncomingRequest {
  method: string;
  /** Path and query as received, e.g. `/messages?limit=5`. */
  url: string;
  /** Node's raw header list: name, value, name, value... (keeps repeats). */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  /** The port and scheme the client reached the gateway on (`x-forwarded-port` / `-proto`); AWS: 443, https. */
  port?: number;
  protocol?: 'http' | 'https';
}

/**
 * Content types an HTTP API hands over as text (`isBase64Encoded: false`): `text/*`, `application/json`,
 * `application/xml` and `application/javascript`. Everything else, a form-encoded body and a body
 * without a Content-Type among them, arrives base64-encoded, as AWS does it.
 */
const TEXT_CONTENT = /^\s*(text\/[^;\s]+|application\/(json|xml|javascript))\s*(;|$)/i;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time` as an HTTP API writes it: `06/Dec/2026:02:53:25 +0000`. */
export function requestTime(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}:` +
    `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`
  );
}

/** An id shaped like an HTTP API's (`JKJaXmPLvHcESHA=`): the event's requestId and the `apigw-requestid` header. */
export function gatewayRequestId(): string {
  return `${randomBytes(11).toString('base64').slice(0, 15).replace(/[+/]/g, 'A')}=`;
}

/** `Root=1-<epoch seconds, hex>-<96 random bits>`, the trace header API Gateway adds. */
function traceId(now: Date): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/**
 * An API Gateway HTTP API (payload format 2.0) event for one request, as AWS would build it: the path
 * percent-decoded in `rawPath` and `requestContext.http.path` (the query string stays encoded), the
 * `x-forwarded-*` and `x-amzn-trace-id` headers added, non-text bodies base64-encoded.
 */
export function apiGatewayEvent(
  request: IncomingRequest,
  routeKey: RouteKey,
  pathParameters: Record<string, string>,
  now = new Date(),
): APIGatewayProxyEventV2 {
  const questionMark = request.url.indexOf('?');
  const rawPath = safeDecode(questionMark >= 0 ? request.url.slice(0, questionMark) : request.url);
  const rawQueryString = questionMark >= 0 ? request.url.slice(questionMark + 1) : '';

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(...value.split(/;\s*/).filter(Boolean));
      continue;
    }
    // Repeated headers are joined with commas, as the HTTP API does.
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  // What API Gateway adds: the client's address appended to any forwarding chain it sent, and how it came in.
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] = request.protocol ?? 'https';
  headers['x-forwarded-port'] = String(request.port ?? 443);
  headers['x-amzn-trace-id'] ??= traceId(now);

  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }

  const requestId = gatewayRequestId();
  const contentType = headers['content-type'];
  const hasBody = request.body.length > 0;
  const asText = contentType !== undefined && TEXT_CONTENT.test(contentType);
  const key = `${routeKey.method} ${routeKey.path}`;

  return {
    version: '2.0',
    routeKey: key,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0] ?? 'local',
      http: {
        method: request.method.toUpperCase(),
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: key,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: asText ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !asText,
  };
}

export interface OutgoingResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** What API Gateway sends back for a handler's result (payload format 2.0, including the shorthand forms). */
export function apiGatewayResponse(result: APIGatewayProxyResultV2 | undefined): OutgoingResponse {
  if (
    result !== null &&
    typeof result === 'object' &&
    'statusCode' in result &&
    result.statusCode !== undefined
  ) {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(result.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
    const raw = result.body ?? '';
    const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    return { status: result.statusCode, headers, body };
  }
  // Anything else is "the body": a string as is, other values as JSON, both with status 200.
  const body = typeof result === 'string' ? result : result === undefined ? '' : JSON.stringify(result);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}

/** An HTTP API refuses a request body over its 10 MB payload quota before any function runs. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Lambda's quota for a synchronous invocation, the event in and the response out alike ("6 MB"; Lambda's
 * own error messages name the exact figure, 6,291,556 bytes of serialized JSON). A request whose event
 * is larger never reaches the function (the HTTP API answers 413); a larger response is a function
 * error (Function.ResponseSizeTooLarge, 500).
 */
export const MAX_INVOKE_PAYLOAD_BYTES = 6_291_556;

/** Bytes of the JSON Lambda would carry for this value (an event or a handler's result). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/**
 * API Gateway's own answers when no route matches, the body is too large, or the function fails. A
 * function error, a function timeout and a response over Lambda's quota are all 500; the HTTP API only
 * answers 503 when its own 30 s integration timeout passes first (a function allowed 30 s or more).
 */
export const gatewayErrors = {
  tooLarge: (): OutgoingResponse => plainJson(413, { message: 'Request Entity Too Large' }),
  internal: (): OutgoingResponse => plainJson(500, { message: 'Internal Server Error' }),
  /** The integration timed out (30 s), whatever the function then does. */
  unavailable: (): OutgoingResponse => plainJson(503, { message: 'Service Unavailable' }),
};

/** How long an HTTP API waits for a Lambda integration before answering 503. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

function plainJson(status: number, body: unknown): OutgoingResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}
