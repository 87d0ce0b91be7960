import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
// Type only: http-errors.ts reaches the DynamoDB client, which this small bundle must not carry.
import type { ErrorEnvelope } from './http-errors.js';
import type { ServiceDefinition } from './routes.js';

/**
 * What no route matches (SPEC §0): 405 with `Allow` when the path is known under other methods, else 404,
 * both in the error envelope. Used by the API's `$default` route in AWS and by the local gateway, so
 * neither answers API Gateway's own `{"message":"Not Found"}`. Pure: no middleware, no schemas.
 */

export interface RouteTemplate {
  method: string;
  /** API Gateway syntax: `/courses/{courseId}`, `{proxy+}` greedy. */
  path: string;
}

/** Same rule as the http middleware: a sane caller id is echoed, anything else gets a fresh one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(headers: Record<string, string | undefined> | undefined): string {
  const incoming = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'x-request-id')?.[1];
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function templateMatches(template: string, path: string): boolean {
  const wanted = template.split('/');
  const given = path.split('/');
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i] ?? '';
    if (/^\{[A-Za-z0-9_]+\+\}$/.test(segment)) return given.slice(i).join('/') !== '';
    if (i >= given.length) return false;
    if (/^\{[A-Za-z0-9_]+\}$/.test(segment)) {
      if ((given[i] ?? '') === '') return false;
    } else if (segment !== given[i]) return false;
  }
  return wanted.length === given.length;
}

/** The methods some route serves at this concrete path, sorted (the `Allow` header). */
export function allowedMethods(routes: readonly RouteTemplate[], path: string): string[] {
  const methods = routes.filter((r) => templateMatches(r.path, path)).map((r) => r.method.toUpperCase());
  return [...new Set(methods)].sort();
}

/** The envelope answer for a request no route took. */
export function unmatchedRoute(
  routes: readonly RouteTemplate[],
  path: string,
  requestId: string,
): APIGatewayProxyStructuredResultV2 {
  const allow = allowedMethods(routes, path);
  const status = allow.length > 0 ? 405 : 404;
  const message = status === 405 ? `Method not allowed; this path takes ${allow.join(', ')}.` : 'Not found.';
  return {
    statusCode: status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': requestId,
      ...(status === 405 ? { allow: allow.join(', ') } : {}),
    },
    body: JSON.stringify({ error: { status, message, request_id: requestId } } satisfies ErrorEnvelope),
  };
}

/** Every METHOD path of the registry, for the local gateway. */
export function routeTemplates(services: readonly ServiceDefinition[]): RouteTemplate[] {
  return services.flatMap((s) => s.routes.map(({ method, path }) => ({ method, path })));
}

/** Every METHOD path an OpenAPI document lists (its paths use the same `{param}` syntax). */
export function documentedRoutes(document: ApiDocument): RouteTemplate[] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations)
      .filter((m) => methods.has(m))
      .map((m) => ({ method: m.toUpperCase(), path })),
  );
}

/** Where the `$default` route serves the API document (the stack's `ApiDocumentUrl` output). */
export const API_DOCUMENT_PATH = '/openapi.json';

/** The part of an OpenAPI document this needs. */
export interface ApiDocument {
  paths: Record<string, Record<string, unknown>>;
}

/**
 * The `$default` route's handler: `GET /openapi.json` answers the document it was built with; everything
 * else is `unmatchedRoute` against that document's routes.
 */
export function defaultRouteHandler(document: ApiDocument) {
  const routes = documentedRoutes(document);
  let documentText: string | undefined;
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = requestIdOf(event.headers);
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    if (path === API_DOCUMENT_PATH && (method === 'GET' || method === 'HEAD')) {
      documentText ??= JSON.stringify(document);
      return {
        statusCode: 200,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'public, max-age=300',
          'x-request-id': requestId,
        },
        body: method === 'HEAD' ? '' : documentText,
      };
    }
    if (path === API_DOCUMENT_PATH) return unmatchedRoute([{ method: 'GET', path }], path, requestId);
    return unmatchedRoute(routes, path, requestId);
  };
}
