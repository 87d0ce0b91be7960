export * as Dispatch from './messages.js';
export * from './phone-schemas.js';
export * from './routes.js';
export * from './schemas.js';
