import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildOpenApi } from '@svc/platform/openapi';
import type { OutgoingResponse } from './api-events.js';
import { Fakes, type ProviderCallback, type ProviderMode, type SlackMode } from './fakes.js';
import type { LocalRuntime } from './runtime.js';
import type { RunningSes } from './ses-server.js';
import type { RunningSsm } from './ssm-server.js';

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PROVIDER_MODES: readonly ProviderMode[] = ['ok', 'down', 'flaky'];
const PROVIDER_CALLBACKS: readonly ProviderCallback[] = ['delivered', 'failed', 'invalid'];
const SLACK_MODES: readonly SlackMode[] = ['ok', 'down', 'throttled'];

type Helper = (method: string, path: string, body: Buffer) => Promise<OutgoingResponse>;

/**
 * `/__local/*`: the local-only helpers of SPEC §6 (token, outbox, providers, schedules, queues, metrics) plus
 * the fakes' own endpoints (SMS providers, Slack webhook), the JWKS, parameters and the API docs.
 */
export function localHelpers(
  runtime: LocalRuntime,
  stores: { ses: RunningSes; ssm: RunningSsm; queueNames: readonly string[]; jobNames: readonly string[] },
): Helper {
  const { fakes } = runtime;
  return async (method, path, rawBody) => {
    const parts = path.split('/').filter(Boolean).slice(1);
    const route = `${method} /${parts.map((p, i) => (isVariable(parts, i) ? '*' : p)).join('/')}`;
    const body = parseJson(rawBody);
    try {
      switch (route) {
        case 'GET /health':
          return json(200, { status: 'ok' });
        case 'GET /runtime':
          return json(200, {
            url: runtime.url,
            stage: runtime.stage.name,
            table_name: runtime.tableName,
            bucket_name: runtime.bucketName,
            endpoints: runtime.endpoints,
            queues: stores.queueNames,
            schedules: stores.jobNames,
          });
        case 'GET /jwks.json':
          return json(200, runtime.issuer.jwks);
        case 'POST /token': {
          if (body === INVALID || (body !== undefined && !isObject(body)))
            return json(400, { message: 'body must be a JSON object' });
          const request = (body ?? {}) as Record<string, unknown>;
          const scope = Array.isArray(request.scope) ? request.scope.join(' ') : request.scope;
          if (scope !== undefined && typeof scope !== 'string')
            return json(400, { message: 'scope must be a string' });
          if (request.sub !== undefined && typeof request.sub !== 'string')
            return json(400, { message: 'sub must be a string' });
          const expiresIn = typeof request.expires_in === 'number' ? request.expires_in : 3600;
          const token = await runtime.issuer.issue({
            ...(scope ? { scope } : {}),
            ...(request.sub ? { sub: request.sub } : {}),
            expiresInSeconds: expiresIn,
          });
          return json(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn });
        }
        case 'GET /outbox':
          return json(200, { slack: fakes.slack, email: await stores.ses.sent(), sms: fakes.sms });
        case 'DELETE /outbox': {
          fakes.reset();
          await fetch(`${runtime.endpoints.ses}/clear-store`, { method: 'POST' });
          return { status: 204, headers: {}, body: Buffer.alloc(0) };
        }
        case 'POST /providers/*': {
          const name = parts[1] ?? '';
          if (!Fakes.isProvider(name)) return json(404, { message: `no provider named ${name}` });
          if (!isObject(body)) return json(400, { message: 'body must be a JSON object' });
          const { mode, callback } = body as { mode?: unknown; callback?: unknown };
          if (mode !== undefined && !PROVIDER_MODES.includes(mode as ProviderMode))
            return json(422, { message: `mode must be one of ${PROVIDER_MODES.join(', ')}` });
          if (callback !== undefined && !PROVIDER_CALLBACKS.includes(callback as ProviderCallback))
            return json(422, { message: `callback must be one of ${PROVIDER_CALLBACKS.join(', ')}` });
          fakes.configureProvider(name, {
            ...(mode ? { mode: mode as ProviderMode } : {}),
            ...(callback ? { callback: callback as ProviderCallback } : {}),
          });
          return json(200, { provider: name, ...fakes.providerSettings(name) });
        }
        case 'POST /providers/*/sms': {
          const name = parts[1] ?? '';
          if (!Fakes.isProvider(name)) return json(404, { message: `no provider named ${name}` });
          const answer = fakes.providerCall(name, body === INVALID ? undefined : body);
          return json(answer.status, answer.body, answer.headers);
        }
        case 'POST /slack/webhook': {
          const answer = fakes.slackPost(body === INVALID ? undefined : body);
          return text(answer.status, String(answer.body), answer.headers);
        }
        case 'POST /slack': {
          const mode = isObject(body) ? (body as { mode?: unknown }).mode : undefined;
          if (!SLACK_MODES.includes(mode as SlackMode))
            return json(422, { message: `mode must be one of ${SLACK_MODES.join(', ')}` });
          fakes.slackMode = mode as SlackMode;
          return json(200, { mode });
        }
        case 'POST /schedules/*/run': {
          const name = parts[1] ?? '';
          if (!stores.jobNames.includes(name)) return json(404, { message: `no schedule named ${name}` });
          const result = await runtime.runSchedule(name);
          return json(200, { schedule: name, result: result ?? null });
        }
        case 'GET /metrics':
          return json(200, runtime.metrics.snapshot());
        case 'DELETE /metrics':
          runtime.metrics.reset();
          return { status: 204, headers: {}, body: Buffer.alloc(0) };
        case 'GET /queues':
          return json(200, await runtime.queues());
        case 'POST /queues/*/redrive': {
          const name = parts[1] ?? '';
          if (!stores.queueNames.includes(name)) return json(404, { message: `no queue named ${name}` });
          return json(200, { queue: name, moved: await runtime.redrive(name) });
        }
        case 'GET /parameters':
          return json(
            200,
            Object.fromEntries([...stores.ssm.parameters].map(([name, stored]) => [name, stored.value])),
          );
        case 'PUT /parameters/*': {
          const name = parts[1] ?? '';
          const value = isObject(body) ? (body as { value?: unknown }).value : undefined;
          if (value !== null && typeof value !== 'string')
            return json(422, { message: 'value must be a string (or null to remove the parameter)' });
          runtime.setParameter(name, value ?? undefined);
          return json(200, { name, value });
        }
        case 'GET /openapi.json':
          return json(200, buildOpenApi(runtime.services, runtime.url));
        case 'GET /docs':
          return {
            status: 200,
            headers: { 'content-type': 'text/html; charset=utf-8' },
            body: Buffer.from(DOCS_PAGE),
          };
        case 'GET /docs/*': {
          const file = parts[1] ?? '';
          if (!/^[\w.-]+\.(js|css|png)$/.test(file)) return json(404, { message: 'Not Found' });
          const content = await readFile(join(SWAGGER_DIR, file)).catch(() => undefined);
          if (!content) return json(404, { message: 'Not Found' });
          const type = file.endsWith('.js')
            ? 'text/javascript'
            : file.endsWith('.css')
              ? 'text/css'
              : 'image/png';
          return { status: 200, headers: { 'content-type': type }, body: content };
        }
        default:
          return json(404, { message: 'Not Found' });
      }
    } catch (error) {
      return json(500, { message: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** Which path segments are names rather than fixed words (`providers/{name}`, `queues/{name}/redrive`...). */
function isVariable(parts: readonly string[], index: number): boolean {
  const first = parts[0];
  if (index !== 1) return false;
  return (
    first === 'providers' ||
    first === 'schedules' ||
    first === 'queues' ||
    first === 'parameters' ||
    (first === 'docs' && parts.length === 2)
  );
}

const INVALID = Symbol('invalid JSON');

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return INVALID;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): OutgoingResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): OutgoingResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
    body: Buffer.from(body),
  };
}

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Local API</title><link rel="stylesheet" href="/__local/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/__local/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/__local/openapi.json', dom_id: '#ui' });</script>
</body></html>`;
