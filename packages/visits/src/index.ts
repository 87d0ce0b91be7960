export * as Accounts from './accounts.js';
export * from './routes.js';
export * from './runtime.js';
export * from './schemas.js';
export * from './tokens.js';
export * as Visits from './visits.js';
