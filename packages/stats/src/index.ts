export * from './routes.js';
export * from './schemas.js';
export * as Stats from './stats.js';
