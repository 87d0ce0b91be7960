import { toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { ErrorBody, schemaName } from './openapi-shapes.js';
import type { HttpRoute, ResponseHeader, ServiceDefinition } from './routes.js';

/**
 * Builds the OpenAPI 3.1 document from the route tables and their valibot schemas, so the API
 * description can never drift from what the handlers validate. Imported by tooling only (not by
 * functions), hence not exported from the package index.
 *
 * Everything is derived from the route entry, so a route added to any table is documented whole:
 * the statuses the shared middleware answers by itself (see `derivedStatuses`), the headers each
 * response carries, its security requirement with the scopes it needs, and named schemas by `$ref`.
 */
type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  303: 'See Other: the resource is at `Location`',
  400: 'Bad request (malformed JSON, or a bad path, query or header parameter)',
  401: 'Missing or invalid credentials',
  403: 'Authenticated but not allowed (for a JWT: a scope is missing)',
  404: 'Not found',
  405: 'Method not allowed on this path (`Allow` lists the methods it has)',
  409: 'Conflict with the current state',
  415: 'Unsupported media type: a body must be sent as `application/json`',
  422: 'The body parsed but failed validation or a business rule (`errors` names the fields)',
  429: 'Throttled: a per-client limit of this route, or the stage-wide API throttle. Retry after `Retry-After` seconds.',
  503: 'Temporarily unavailable (the database is busy or a secret cannot be read). Retry after `Retry-After` seconds.',
};

/** Every response header the document describes, once, referred to by `$ref`. */
const HEADERS: Record<string, JsonSchema> = {
  RequestId: {
    description:
      "The request's id: the caller's own `x-request-id` echoed when it is 1-128 of `A-Za-z0-9._:-`, else a new UUID. Logged with every line of the request.",
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
  RetryAfter: {
    description: 'Whole seconds to wait before trying again.',
    schema: { type: 'integer', minimum: 0 },
  },
  Location: { description: 'Where the resource is.', schema: { type: 'string', format: 'uri' } },
  CacheControl: {
    description: 'Caching rule for the response (`no-store` on responses that carry a token).',
    schema: { type: 'string' },
  },
  Allow: { description: 'The methods this path has.', schema: { type: 'string' } },
};

const HEADER_KEY: Record<ResponseHeader, [wireName: string, component: string]> = {
  'Retry-After': ['Retry-After', 'RetryAfter'],
  Location: ['Location', 'Location'],
  'Cache-Control': ['Cache-Control', 'CacheControl'],
  Allow: ['Allow', 'Allow'],
};

/** Descriptions of the parameters every list shares (SPEC §0), which their string schemas cannot say. */
const PARAMETER_TEXT: Record<string, string> = {
  limit: 'Page size: an integer from 1 to 100 (default 50).',
  cursor: "Opaque: the previous page's `next_cursor`.",
};

function schemaOf(schema: v.GenericSchema): JsonSchema {
  // `ignore`: transforms and custom checks have no JSON Schema form; the structure is what callers need.
  const { $schema: _drop, ...rest } = toJsonSchema(schema, { errorMode: 'ignore' }) as JsonSchema;
  return rest;
}

/** Named schemas of the document, by schema identity, so each lands in `components.schemas` once. */
class SchemaRegistry {
  private readonly byIdentity = new Map<object, string>();
  readonly components: Record<string, JsonSchema> = {};

  ref(schema: v.GenericSchema, fallbackName: string): JsonSchema {
    let name = this.byIdentity.get(schema);
    if (!name) {
      const wanted = schemaName(schema) ?? fallbackName;
      name = wanted;
      for (let n = 2; this.components[name]; n++) name = `${wanted}${n}`;
      this.byIdentity.set(schema, name);
      this.components[name] = schemaOf(schema);
    }
    return { $ref: `#/components/schemas/${name}` };
  }
}

function parameters(route: HttpRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  const add = (where: 'path' | 'query' | 'header', schema: v.GenericSchema | undefined) => {
    if (!schema) return;
    const json = schemaOf(schema);
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const text = where === 'query' ? PARAMETER_TEXT[name] : undefined;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(text ? { description: text } : {}),
        schema: property,
      });
    }
  };
  add('path', route.request.path);
  add('query', route.request.query);
  add('header', route.request.headers);
  if (route.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Repeat with the same key and body to get the first response again (keys live 24 h); the same key with another body is 422.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return out;
}

/**
 * The statuses the shared stack (packages/platform/src/http.ts) answers before or around the domain,
 * added to what the route table lists: every route can be throttled (429, the stage's API throttle at
 * least, and any per-client limit); a route that touches the table or reads a secret can be told the
 * database is busy or the secret unreadable (503).
 */
export function derivedStatuses(route: HttpRoute): number[] {
  const { request, auth } = route;
  const statuses = new Set<number>();
  if (request.path || request.query || request.headers || request.body || route.idempotent) statuses.add(400);
  if (request.body) for (const status of [400, 415, 422]) statuses.add(status);
  if (route.idempotent) statuses.add(422);
  if (auth.kind !== 'public') statuses.add(401);
  if (auth.kind === 'jwt') statuses.add(403);
  statuses.add(429);
  if (route.access.table || route.access.parameters?.length) statuses.add(503);
  return [...statuses];
}

function headersFor(route: HttpRoute, status: number, used: Set<string>): JsonSchema {
  const wanted = new Set<ResponseHeader>(route.responseHeaders?.[status] ?? []);
  if (status === 429 || status === 503) wanted.add('Retry-After');
  if (status >= 300 && status < 400) wanted.add('Location');
  if (status === 405) wanted.add('Allow');
  const out: JsonSchema = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  used.add('RequestId');
  for (const header of [...wanted].sort()) {
    const [wire, component] = HEADER_KEY[header];
    out[wire] = { $ref: `#/components/headers/${component}` };
    used.add(component);
  }
  return out;
}

function security(route: HttpRoute): JsonSchema[] {
  switch (route.auth.kind) {
    case 'jwt':
      return [{ stageJwt: [...route.auth.scopes] }];
    case 'service-token':
      return [{ serviceToken: [] }];
    default:
      // Public, or proven inside the request itself (a signature header, a signed token in the URL).
      return [];
  }
}

function authText(route: HttpRoute): string {
  switch (route.auth.kind) {
    case 'jwt':
      return `Requires a bearer JWT from the stage's issuer with scope ${route.auth.scopes.map((s) => `\`${s}\``).join(' and ')}.`;
    case 'service-token':
      return 'Requires a visits session token (`Authorization: Bearer <token>`; the bare token is accepted too).';
    case 'signed':
      return 'No bearer credentials: the request proves itself (a signature header, or a signed token in its URL).';
    default:
      return 'No credentials.';
  }
}

function operation(
  service: string,
  route: HttpRoute,
  registry: SchemaRegistry,
  usedHeaders: Set<string>,
): JsonSchema {
  const declared = Object.entries(route.responses).map(([s, schema]) => [Number(s), schema] as const);
  const all = new Map<number, v.GenericSchema | null>(declared);
  for (const status of derivedStatuses(route)) if (!all.has(status)) all.set(status, ErrorBody);
  const responses: Record<string, JsonSchema> = {};
  for (const [status, schema] of [...all].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: STATUS_TEXT[status] ?? 'Response',
      headers: headersFor(route, status, usedHeaders),
      ...(schema
        ? {
            content: {
              'application/json': { schema: registry.ref(schema, `${route.functionName}${status}`) },
            },
          }
        : {}),
    };
  }
  return {
    operationId: route.functionName,
    summary: route.summary,
    description: `${route.summary}. ${authText(route)}`,
    tags: [service],
    parameters: parameters(route),
    ...(route.request.body
      ? {
          requestBody: {
            required: true,
            description: 'A JSON object (`Content-Type: application/json`; other media types are 415).',
            content: {
              'application/json': {
                schema: registry.ref(route.request.body, `${route.functionName}Request`),
              },
            },
          },
        }
      : {}),
    responses,
    security: security(route),
  };
}

/** A placeholder token endpoint: the real one is the stage issuer's (stage config `auth.issuer`). */
export const DEFAULT_TOKEN_URL = 'https://auth.example.com/oauth/token';

export function buildOpenApi(
  services: readonly ServiceDefinition[],
  serverUrl = '/',
  tokenUrl = DEFAULT_TOKEN_URL,
): JsonSchema {
  const registry = new SchemaRegistry();
  registry.ref(ErrorBody, 'Error');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const scopes = new Map<string, string[]>();
  const usedHeaders = new Set<string>();
  for (const service of services) {
    for (const route of service.routes) {
      // Catch-all routes (`$default`) are not paths a client calls.
      if (!route.path.startsWith('/')) continue;
      paths[route.path] ??= {};
      const byMethod = paths[route.path] as Record<string, JsonSchema>;
      byMethod[route.method.toLowerCase()] = operation(service.name, route, registry, usedHeaders);
      if (route.auth.kind === 'jwt') {
        for (const scope of route.auth.scopes)
          scopes.set(scope, [...(scopes.get(scope) ?? []), route.functionName]);
      }
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless services API',
      version: '1.0.0',
      description:
        'Generated from the route tables (packages/*/src/routes.ts). Do not edit by hand: `pnpm openapi`. ' +
        'Every error is the `Error` envelope; every response carries `X-Request-Id`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: serverUrl, description: 'The API of one stage (locally the `pnpm dev` gateway).' }],
    // A service without routes (the API's own $default) has no operations to group.
    tags: services
      .filter((s) => s.routes.length > 0)
      .map((s) => ({
        name: s.name,
        description: `The ${s.name} service (route table packages/${s.name}/src/routes.ts).`,
      })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: registry.components,
      headers: Object.fromEntries(Object.entries(HEADERS).filter(([name]) => usedHeaders.has(name))),
      securitySchemes: {
        stageJwt: {
          type: 'oauth2',
          description:
            "A bearer JWT from the stage's issuer (stage config `auth`), verified against its JWKS. Scopes are read from `scope` (space-separated), `scp` or `permissions`; an operation needs every scope it lists.",
          flows: {
            clientCredentials: {
              tokenUrl,
              scopes: Object.fromEntries(
                [...scopes]
                  .sort(([a], [b]) => a.localeCompare(b))
                  .map(([scope, ops]) => [scope, `Needed by ${ops.join(', ')}`]),
              ),
            },
          },
        },
        serviceToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A visits session token (POST /api/auth/session). The bare token is accepted too.',
        },
      },
    },
  };
}

/**
 * Routes whose table entry lacks what the document needs: a success response with a body schema (only a
 * 204 has none), an error response, a schema for every `{parameter}` of the path, and a body schema for writes.
 */
export function undocumentedRoutes(services: readonly ServiceDefinition[]): string[] {
  const problems: string[] = [];
  for (const service of services) {
    for (const route of service.routes) {
      const id = `${route.method} ${route.path} (${route.functionName})`;
      const statuses = Object.keys(route.responses).map(Number);
      const successes = statuses.filter((s) => s >= 200 && s < 300);
      if (successes.length === 0) problems.push(`${id}: no success response`);
      for (const status of successes) {
        if (status !== 204 && !route.responses[status]) problems.push(`${id}: no schema for ${status}`);
      }
      if (!statuses.some((s) => s >= 400)) problems.push(`${id}: no error responses`);
      const described = new Set(Object.keys(objectEntries(route.request.path)));
      for (const [, name] of route.path.matchAll(/\{([^}+]+)\+?\}/g)) {
        if (name && !described.has(name)) problems.push(`${id}: no schema for path parameter ${name}`);
      }
      const needsBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
      if (needsBody && !route.request.body && !route.bodyless) problems.push(`${id}: no request body schema`);
    }
  }
  return problems;
}

/** The keys of a valibot object schema (empty for anything else). */
function objectEntries(schema: v.GenericSchema | undefined): Record<string, unknown> {
  const entries = (schema as { entries?: unknown } | undefined)?.entries;
  return entries && typeof entries === 'object' ? (entries as Record<string, unknown>) : {};
}
