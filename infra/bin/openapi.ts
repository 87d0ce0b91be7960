import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildOpenApi, undocumentedRoutes } from '@svc/platform/openapi';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { services } from '../lib/services.js';

/** `pnpm openapi`: writes the API document generated from the route tables next to the CDK app. */
export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));

/**
 * ...and the TypeScript types openapi-typescript generates from it, which the typed test client
 * (test/openapi-client/client.ts) is written against: `tsc` fails when the document changes under it.
 */
export const OPENAPI_TYPES_FILE = fileURLToPath(
  new URL('../../test/openapi-client/api.d.ts', import.meta.url),
);

export function openApiText(): string {
  return `${JSON.stringify(buildOpenApi(services), null, 2)}\n`;
}

/** openapi-typescript's output for a document (offline: the document is given, nothing is fetched). */
export async function openApiTypesText(documentFile = OPENAPI_FILE): Promise<string> {
  const ast = await openapiTS(pathToFileURL(documentFile));
  return `${COMMENT_HEADER}${astToString(ast)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = undocumentedRoutes(services);
  if (problems.length > 0) {
    console.error(`Routes without the schemas the API document needs:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  writeFileSync(OPENAPI_FILE, openApiText());
  console.log(`wrote ${OPENAPI_FILE}`);
  writeFileSync(OPENAPI_TYPES_FILE, await openApiTypesText());
  console.log(`wrote ${OPENAPI_TYPES_FILE}`);
}
