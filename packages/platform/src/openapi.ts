import { toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import type { HttpRoute, ServiceDefinition } from './routes.js';

/**
 * Builds the OpenAPI 3.1 document from the route tables and their valibot schemas, so the API
 * description can never drift from what the handlers validate. Imported by tooling only (not by
 * functions), hence not exported from the package index.
 */
type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad request (malformed JSON, bad path/query/header parameter)',
  401: 'Missing or invalid credentials',
  403: 'Authenticated but not allowed',
  404: 'Not found',
  409: 'Conflict with the current state',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Throttled',
  503: 'Temporarily unavailable',
};

function schemaOf(schema: v.GenericSchema): JsonSchema {
  // `ignore`: transforms and custom checks have no JSON Schema form; the structure is what callers need.
  const { $schema: _drop, ...rest } = toJsonSchema(schema, { errorMode: 'ignore' }) as JsonSchema;
  return rest;
}

function parameters(route: HttpRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  const add = (where: 'path' | 'query' | 'header', schema: v.GenericSchema | undefined) => {
    if (!schema) return;
    const json = schemaOf(schema);
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: property });
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
      description: 'Repeat with the same key and body to get the first response again (24 h).',
      schema: { type: 'string', maxLength: 255 },
    });
  }
  return out;
}

function security(route: HttpRoute): JsonSchema[] | undefined {
  switch (route.auth.kind) {
    case 'jwt':
      return [{ stageJwt: [...route.auth.scopes] }];
    case 'service-token':
      return [{ serviceToken: [] }];
    default:
      return undefined;
  }
}

function operation(service: string, route: HttpRoute): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    responses[status] = {
      description: STATUS_TEXT[Number(status)] ?? 'Response',
      ...(schema ? { content: { 'application/json': { schema: schemaOf(schema) } } } : {}),
    };
  }
  const sec = security(route);
  return {
    operationId: route.functionName,
    summary: route.summary,
    tags: [service],
    parameters: parameters(route),
    ...(route.request.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(route.request.body) } },
          },
        }
      : {}),
    responses,
    ...(sec ? { security: sec } : {}),
  };
}

export function buildOpenApi(services: readonly ServiceDefinition[], serverUrl = '/'): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const service of services) {
    for (const route of service.routes) {
      paths[route.path] ??= {};
      const byMethod = paths[route.path] as Record<string, JsonSchema>;
      byMethod[route.method.toLowerCase()] = operation(service.name, route);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless services API',
      version: '1.0.0',
      description:
        'Generated from the route tables (packages/*/src/routes.ts). Do not edit by hand: `pnpm openapi`.',
    },
    servers: [{ url: serverUrl }],
    // A service without routes (the API's own $default) has no operations to group.
    tags: services.filter((s) => s.routes.length > 0).map((s) => ({ name: s.name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        stageJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "A JWT from the stage's issuer; scopes in `scope`, `scp` or `permissions`.",
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
