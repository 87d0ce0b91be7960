import type { ServiceDefinition } from './routes.js';

/**
 * The HTTP API's own answers, as a registry entry so it deploys, runs locally and is benchmarked like any
 * function: the `$default` route (whatever no service route matches).
 */
export const apiService: ServiceDefinition = {
  name: 'api',
  routes: [],
  defaultRoute: {
    functionName: 'ApiDefaultRoute',
    handler: 'functions/api/default-route.ts',
    summary:
      "The API's $default route: the API document at GET /openapi.json, otherwise 405 with Allow for a known path or 404, in the error envelope",
    access: {},
  },
};
