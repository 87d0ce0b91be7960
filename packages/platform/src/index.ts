// Adapters that pull in extra SDK clients are imported by subpath (`@svc/platform/queues`,
// `@svc/platform/parameters`) so HTTP-only functions do not bundle them.
export * from './auth.js';
export * from './config.js';
export * from './dynamo.js';
export * from './errors.js';
export * from './http.js';
export * from './http-errors.js';
export * from './idempotency.js';
export * from './logger.js';
export * from './metrics.js';
export * from './pagination.js';
export * from './rate-limit.js';
export * from './routes.js';
export * from './sharded.js';
export * from './table.js';
export * from './validation.js';
