import { readFileSync } from 'node:fs';
import { undocumentedRoutes } from '@svc/platform/openapi';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, openApiText } from '../infra/bin/openapi.js';
import { services } from '../infra/lib/services.js';
import { gateway } from './support/gateway.js';

describe('API document', () => {
  it('has request and response schemas for every route', () => {
    expect(undocumentedRoutes(services)).toEqual([]);
  });

  it('documents every route of every service', () => {
    const document = JSON.parse(openApiText()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const documented = Object.values(document.paths).flatMap((ops) =>
      Object.values(ops).map((op) => op.operationId),
    );
    const routes = services.flatMap((s) => s.routes.map((r) => r.functionName));
    expect(documented.sort()).toEqual(routes.sort());
  });

  it('is committed up to date (run `pnpm openapi` after changing a route table)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiText());
  });

  it('is served by the local runtime at /docs with an interactive viewer', async () => {
    const page = await gateway('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(String(page.body)).toContain('SwaggerUIBundle');
    const served = await gateway('GET', '/__local/openapi.json');
    const routes = services.flatMap((s) => s.routes.map((r) => r.functionName));
    const operations = Object.values(
      served.body.paths as Record<string, Record<string, { operationId: string }>>,
    ).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(operations.sort()).toEqual(routes.sort());
  });
});
