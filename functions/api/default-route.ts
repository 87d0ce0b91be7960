import { defaultRouteHandler } from '@svc/platform/unmatched-route';
// The committed document (`pnpm openapi`, kept current by test/openapi.test.ts) lists every METHOD path, so
// this bundle needs no route table, schema or middleware of any service.
import document from '../../infra/openapi.json' with { type: 'json' };

export const handler = defaultRouteHandler(document);
