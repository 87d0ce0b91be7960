import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApi, undocumentedRoutes } from '@svc/platform/openapi';
import { services } from '../lib/services.js';

/** `pnpm openapi`: writes the API document generated from the route tables next to the CDK app. */
export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));

export function openApiText(): string {
  return `${JSON.stringify(buildOpenApi(services), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = undocumentedRoutes(services);
  if (problems.length > 0) {
    console.error(`Routes without the schemas the API document needs:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  writeFileSync(OPENAPI_FILE, openApiText());
  console.log(`wrote ${OPENAPI_FILE}`);
}
