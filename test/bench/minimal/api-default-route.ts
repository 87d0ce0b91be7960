import { randomUUID } from 'node:crypto';
import document from '../../../infra/openapi.json' with { type: 'json' };

// The same job as ApiDefaultRoute with nothing shared: the document's paths as regexes, the envelope by hand.
type Event = {
  rawPath?: string;
  headers?: Record<string, string | undefined>;
  requestContext?: { http?: { method?: string } };
};

const paths = document.paths as Record<string, Record<string, unknown>>;
const routes = Object.entries(paths).map(([path, operations]) => ({
  pattern: new RegExp(
    `^${path.replace(/\{[A-Za-z0-9_]+\+\}/g, '.+').replace(/\{[A-Za-z0-9_]+\}/g, '[^/]+')}$`,
  ),
  methods: Object.keys(operations).map((m) => m.toUpperCase()),
}));

export const handler = async (event: Event) => {
  const incoming = event.headers?.['x-request-id'];
  const requestId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  const path = event.rawPath ?? '/';
  const method = event.requestContext?.http?.method ?? 'GET';
  if (path === '/openapi.json' && method === 'GET')
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(document),
    };
  const allow = [...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods))].sort();
  const status = allow.length > 0 ? 405 : 404;
  return {
    statusCode: status,
    headers: {
      'content-type': 'application/json',
      'x-request-id': requestId,
      ...(status === 405 ? { allow: allow.join(', ') } : {}),
    },
    body: JSON.stringify({
      error: {
        status,
        message: status === 405 ? `Method not allowed; this path takes ${allow.join(', ')}.` : 'Not found.',
        request_id: requestId,
      },
    }),
  };
};
