import { readFileSync } from 'node:fs';
import { undocumentedRoutes } from '@svc/platform/openapi';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, openApiText } from '../infra/bin/openapi.js';
import { services } from '../infra/lib/services.js';

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
});
