import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as v from 'valibot';
import { type Authenticator, type Principal, requireScopes, stageJwtAuthenticator } from './auth.js';
import { BadRequest, UnsupportedMediaType, ValidationFailed } from './errors.js';
import { envelope, mapError } from './http-errors.js';
import {
  dynamoIdempotencyStore,
  fingerprintOf,
  type IdempotencyStore,
  type StoredResponse,
  validateIdempotencyKey,
} from './idempotency.js';
import { logger, type ScopedLogger, scopedLogger } from './logger.js';
import { flushMetrics, metrics } from './metrics.js';
import {
  dynamoLimitStore,
  type LimitStore,
  noLimits,
  type RouteLimiter,
  routeLimiter,
} from './rate-limit.js';
import type { HttpRoute, RequestSchemas } from './routes.js';
import { annotateRequestId, traced } from './tracing.js';
import { fieldErrors } from './validation.js';

type Out<S> = S extends v.GenericSchema ? v.InferOutput<S> : undefined;

export interface HttpRequest<R extends RequestSchemas> {
  path: Out<R['path']>;
  query: Out<R['query']>;
  headers: Out<R['headers']>;
  body: Out<R['body']>;
  /** Set on routes whose auth is `jwt` or `service-token`. */
  principal: Principal | undefined;
  requestId: string;
  event: APIGatewayProxyEventV2;
  log: ScopedLogger;
  /** The route's declared abuse limits (`HttpRoute.limits`) for limits the domain keys itself. */
  limits: RouteLimiter;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpHandlerOptions {
  /** Verifier for `service-token` routes, or a replacement for the stage JWKS verifier (tests). */
  authenticate?: Authenticator;
  idempotency?: IdempotencyStore;
  /** Where abuse-limit counts live (default: the service table); tests inject a clock through it. */
  limitStore?: LimitStore;
  /**
   * Verifier for `signed` routes. Runs where credentials are checked (before body parsing, so
   * `event.body` is still the raw string a signature covers); throw `NotAuthenticated` to answer 401.
   */
  verifySigned?: (event: ApiEvent) => Promise<void>;
}

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

interface RequestState {
  requestId: string;
  startedAt: number;
  log: ScopedLogger;
  principal?: Principal;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const states = new WeakMap<object, RequestState>();

function stateOf(event: object): RequestState {
  const state = states.get(event);
  if (!state) throw new Error('request state missing: httpFrame must run first');
  return state;
}

function respond(state: RequestState, result: HttpResult): ApiResult {
  const hasBody = result.body !== undefined && result.status !== 204;
  return {
    statusCode: result.status,
    headers: {
      ...(hasBody ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...result.headers,
      'x-request-id': state.requestId,
    },
    body: hasBody ? JSON.stringify(result.body) : '',
  };
}

/** `outcome` of the ApiRequests metric: the class of the status (dimension values are words, see metrics.ts). */
export function statusClass(status: number): 'success' | 'client_error' | 'server_error' {
  return status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'success';
}

/**
 * Per-route request count by status class and latency (the API SLO alarms' sources: 5xx rate and p99 per
 * route), then this invocation's metrics go out: once per request, success or error.
 */
function finish(route: HttpRoute, status: number, durationMs: number) {
  metrics.count('ApiRequests', { route: route.functionName, outcome: statusClass(status) });
  metrics.durationMs('ApiLatency', durationMs, { route: route.functionName });
  flushMetrics();
}

/** Request id, one access log line per request, and the SPEC §0 error envelope for anything thrown. */
function httpFrame(route: HttpRoute): middy.MiddlewareObj<ApiEvent, ApiResult> {
  return {
    before: (request) => {
      const event = request.event;
      const headers: Record<string, string | undefined> = {};
      for (const [k, value] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = value;
      event.headers = headers;
      const incoming = headers['x-request-id'];
      const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      states.set(event, {
        requestId,
        startedAt: Date.now(),
        log: scopedLogger({ request_id: requestId, route: route.functionName }),
      });
      annotateRequestId(requestId);
    },
    after: (request) => {
      const state = stateOf(request.event);
      const durationMs = Date.now() - state.startedAt;
      state.log.info('request', {
        method: route.method,
        path: request.event.rawPath,
        status: request.response?.statusCode,
        duration_ms: durationMs,
      });
      finish(route, request.response?.statusCode ?? 200, durationMs);
    },
    onError: (request) => {
      const state = states.get(request.event) ?? {
        requestId: randomUUID(),
        startedAt: Date.now(),
        log: logger as ScopedLogger,
      };
      const mapped = mapError(request.error);
      if (mapped.status >= 500) state.log.error('request failed', { error: request.error as Error });
      const durationMs = Date.now() - state.startedAt;
      state.log.info('request', {
        method: route.method,
        path: request.event?.rawPath,
        status: mapped.status,
        duration_ms: durationMs,
      });
      finish(route, mapped.status, durationMs);
      request.response = respond(state, {
        status: mapped.status,
        body: envelope(mapped, state.requestId),
        ...(mapped.retryAfterSeconds !== undefined
          ? { headers: { 'retry-after': String(mapped.retryAfterSeconds) } }
          : {}),
      });
    },
  };
}

function authentication(
  route: HttpRoute,
  options: HttpHandlerOptions,
): middy.MiddlewareObj<ApiEvent, ApiResult> {
  const auth = route.auth;
  return {
    before: async (request) => {
      if (auth.kind === 'signed' && options.verifySigned) return options.verifySigned(request.event);
      if (auth.kind !== 'jwt' && auth.kind !== 'service-token') return;
      const authenticate =
        options.authenticate ?? (auth.kind === 'jwt' ? stageJwtAuthenticator() : undefined);
      if (!authenticate) throw new Error(`route ${route.functionName} needs an authenticator`);
      const principal = await authenticate(request.event.headers as Record<string, string | undefined>);
      if (auth.kind === 'jwt') requireScopes(principal, auth.scopes);
      stateOf(request.event).principal = principal;
    },
  };
}

/** A route with a body schema requires a JSON object body with a JSON content type. */
function requireJsonBody(): middy.MiddlewareObj<ApiEvent, ApiResult> {
  return {
    before: (request) => {
      const { body, headers } = request.event;
      if (body === undefined || body === null || body === '') {
        throw new BadRequest('Request body must be a JSON object.');
      }
      if (!JSON_CONTENT_TYPE.test(headers['content-type'] ?? '')) throw new UnsupportedMediaType();
    },
  };
}

function parse<S extends v.GenericSchema | undefined>(
  schema: S,
  input: unknown,
  onIssues: (fields: ReturnType<typeof fieldErrors>) => Error,
): Out<S> {
  if (!schema) return undefined as Out<S>;
  const result = v.safeParse(schema, input);
  if (!result.success) throw onIssues(fieldErrors(result.issues));
  return result.output as Out<S>;
}

/**
 * Wraps a route's implementation in the shared middleware stack:
 * request id → auth (401/403) → JSON body (400/415) → path/query/header validation (400) →
 * body validation (422) → Idempotency-Key → the implementation → response shaping.
 */
export function httpHandler<R extends RequestSchemas>(
  route: HttpRoute<R>,
  implementation: (request: HttpRequest<R>) => Promise<HttpResult>,
  options: HttpHandlerOptions = {},
) {
  const idempotency = route.idempotent ? (options.idempotency ?? dynamoIdempotencyStore()) : undefined;
  const declaredLimits = route.limits ?? [];
  const limits =
    declaredLimits.length > 0
      ? routeLimiter(declaredLimits, options.limitStore ?? dynamoLimitStore())
      : noLimits;
  const stack = middy<ApiEvent, ApiResult, Error, Context>().use(httpFrame(route as HttpRoute));
  stack.use(authentication(route as HttpRoute, options));
  if (route.request.body) {
    stack.use(requireJsonBody()).use(httpJsonBodyParser());
  }
  const handler = stack.handler(async (event) => {
    const state = stateOf(event);
    const badParameter = (fields: ReturnType<typeof fieldErrors>) =>
      new BadRequest('Invalid request parameters.', fields);
    const path = parse(route.request.path, event.pathParameters ?? {}, badParameter);
    const query = parse(route.request.query, event.queryStringParameters ?? {}, badParameter);
    const headers = parse(route.request.headers, event.headers, badParameter);
    let body: unknown;
    if (route.request.body) {
      const raw: unknown = event.body;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new BadRequest('Request body must be a JSON object.');
      }
      body = parse(route.request.body, raw, (fields) => new ValidationFailed(fields));
    }
    const request = {
      path,
      query,
      headers,
      body,
      principal: state.principal,
      requestId: state.requestId,
      event,
      log: state.log,
      limits,
    } as HttpRequest<R>;

    // Limits per source IP or subject: after everything that can be refused for its content (SPEC §5 order).
    for (const limit of declaredLimits) {
      if (limit.per === 'custom') continue;
      const client =
        limit.per === 'subject' ? state.principal?.subject : event.requestContext?.http?.sourceIp;
      await limits.take(limit.setting, client ?? 'unknown');
    }

    const key = event.headers['idempotency-key'];
    if (!idempotency || key === undefined) return respond(state, await implementation(request));

    validateIdempotencyKey(key);
    const caller = state.principal?.subject ?? event.headers['x-user-id'] ?? 'anonymous';
    // Starts with the route's own name: IAM lets each function reach only `$idem#<FunctionName>#…`.
    const scopedKey = `${route.functionName}#${caller}#${key}`;
    const fingerprint = fingerprintOf([event.rawPath, event.body]);
    const started = await idempotency.start(scopedKey, fingerprint);
    if (started.state === 'replay') return respond(state, started.response);
    let result: HttpResult;
    try {
      result = await implementation(request);
    } catch (error) {
      // Nothing was done, so a retry with the same key must be free to run again.
      await idempotency.release(scopedKey).catch(() => undefined);
      throw error;
    }
    const stored: StoredResponse = { status: result.status, body: result.body, headers: result.headers };
    try {
      await idempotency.complete(scopedKey, fingerprint, stored);
    } catch (error) {
      // The work is done: answering an error now would invite the very retry that repeats it.
      state.log.error('could not record the response for its Idempotency-Key; answering it anyway', {
        error: error as Error,
      });
    }
    return respond(state, result);
  });
  // The whole stack in one traced subsegment (a pass-through when tracing is off).
  return (event: ApiEvent, context: Context): Promise<ApiResult> =>
    traced(route.functionName, () => handler(event, context));
}

/** `{"data": ...}` success bodies used across services. */
export const ok = (body: unknown, status = 200): HttpResult => ({ status, body });
