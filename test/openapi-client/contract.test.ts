import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, OPENAPI_TYPES_FILE, openApiTypesText } from '../../infra/bin/openapi.js';
import { gatewayUrl, localToken } from '../support/gateway.js';
import { client } from './client.js';

/**
 * The API document as a contract: the types openapi-typescript generates from it are committed and up
 * to date, the typed client (client.ts) compiles against them (`tsc`), and real calls through the
 * local gateway answer documented statuses with bodies and headers the document describes.
 */
type Schema = Record<string, unknown>;
const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, Schema> }>>;
  components: { schemas: Record<string, Schema>; headers: Record<string, Schema> };
};

/** Where `value` breaks `schema` (the JSON Schema subset the generator emits), or [] when it conforms. */
function violations(schema: Schema, value: unknown, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return violations(document.components.schemas[name] ?? {}, value, at);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key] as Schema[] | undefined;
    if (options && !options.some((option) => violations(option, value, at).length === 0)) {
      return [`${at}: matches none of ${key}`];
    }
  }
  if ('const' in schema && value !== schema.const) return [`${at}: not ${JSON.stringify(schema.const)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${at}: not in enum`];
  const types = schema.type === undefined ? [] : ([] as unknown[]).concat(schema.type);
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  const actual = typeOf(value);
  if (types.length > 0 && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) {
    return [`${at}: ${actual} is not ${types.join('|')}`];
  }
  const out: string[] = [];
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in object)) out.push(`${at}.${name}: missing`);
    }
    for (const [name, child] of Object.entries(object)) {
      const property = properties[name] ?? (schema.additionalProperties as Schema | undefined);
      if (property) out.push(...violations(property, child, `${at}.${name}`));
      else if (schema.properties) out.push(`${at}.${name}: not in the document`);
    }
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => {
      out.push(...violations(schema.items as Schema, item, `${at}[${i}]`));
    });
  }
  return out;
}

/** The reply is a status the document lists for the operation, with a body and headers it describes. */
function expectDocumented(
  path: string,
  method: string,
  reply: { status: number | string; body: unknown; headers: Headers },
) {
  const responses = document.paths[path]?.[method]?.responses ?? {};
  const response = responses[String(reply.status)];
  expect(response, `${method.toUpperCase()} ${path} answered an undocumented ${reply.status}`).toBeDefined();
  const schema = (response?.content as { 'application/json'?: { schema: Schema } } | undefined)?.[
    'application/json'
  ]?.schema;
  if (schema) expect(violations(schema, reply.body)).toEqual([]);
  for (const header of Object.keys((response?.headers ?? {}) as Schema)) {
    expect(reply.headers.get(header), `${header} on ${reply.status}`).not.toBeNull();
  }
}

describe('API document as a contract', () => {
  it('has its generated client types committed up to date (run `pnpm openapi`)', async () => {
    expect(readFileSync(OPENAPI_TYPES_FILE, 'utf8')).toBe(await openApiTypesText());
  });

  it('describes real answers through the local gateway, typed by the generated client', async () => {
    const call = client(gatewayUrl());
    const token = await localToken('tasks:read');
    const userId = `contract-${randomUUID()}`;
    const id = `task-${randomUUID()}`;
    const timestamp = new Date(Date.now() - 1000).toISOString();

    const created = await call('/webhook', 'post', {
      body: { event: 'created', timestamp, metadata: { userId, id, content: 'typed', isCompleted: false } },
    });
    expectDocumented('/webhook', 'post', created);
    expect(created.status).toBe(202);
    if (created.status === 202) expect(created.body.applied).toBe(true);

    const task = await call('/tasks/{id}', 'get', { path: { id }, token });
    expectDocumented('/tasks/{id}', 'get', task);
    if (task.status !== 200) throw new Error(`GET /tasks/{id} answered ${task.status}`);
    const applied: boolean | undefined = task.body.events[0]?.applied;
    expect(applied).toBe(true);
    expect(task.body.completedAt).toBeNull();

    const page = await call('/users/{userId}/tasks', 'get', {
      path: { userId },
      query: { status: 'open' },
      token,
    });
    expectDocumented('/users/{userId}/tasks', 'get', page);
    if (page.status !== 200) throw new Error(`GET /users/{userId}/tasks answered ${page.status}`);
    expect(page.body.data.map((t) => t.id)).toEqual([id]);

    const missing = await call('/tasks/{id}', 'get', { path: { id: `nope-${randomUUID()}` }, token });
    expectDocumented('/tasks/{id}', 'get', missing);
    expect(missing.status).toBe(404);
    if (missing.status === 404)
      expect(missing.body.error.request_id).toBe(missing.headers.get('x-request-id'));

    const unauthenticated = await call('/tasks/{id}', 'get', { path: { id } });
    expectDocumented('/tasks/{id}', 'get', unauthenticated);
    expect(unauthenticated.status).toBe(401);

    const badQuery = await call('/users/{userId}/tasks', 'get', {
      path: { userId },
      query: { limit: '0' },
      token,
    });
    expectDocumented('/users/{userId}/tasks', 'get', badQuery);
    expect(badQuery.status).toBe(400);

    const wrongMedia = await call('/messages/delivery_status', 'post', {
      query: { token: 'x' },
      body: { status: 'delivered', message_id: randomUUID() },
      headers: { 'content-type': 'text/plain' },
    });
    expectDocumented('/messages/delivery_status', 'post', wrongMedia);
    expect(wrongMedia.status).toBe(401); // the token in the URL is checked first

    const notJson = await call('/webhook', 'post', {
      body: { event: 'created', timestamp, metadata: { userId, id, content: 'typed', isCompleted: false } },
      headers: { 'content-type': 'text/plain' },
    });
    expectDocumented('/webhook', 'post', notJson);
    expect(notJson.status).toBe(415);

    const invalid = await call('/courses/{courseId}', 'get', {
      path: { courseId: 'not-a-uuid' },
      headers: { 'x-user-id': randomUUID() },
    });
    expectDocumented('/courses/{courseId}', 'get', invalid);
    expect(invalid.status).toBe(400);

    // @ts-expect-error a path the document does not have is a type error
    await expect(call('/not-documented', 'get')).resolves.toBeDefined();
  }, 180_000); // seven functions, each cold in the local runtime
});
