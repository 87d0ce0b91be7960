export * as TaskAudit from './audit.js';
export * from './ports.js';
export * as Reports from './reports.js';
export * from './routes.js';
export * from './schemas.js';
export * as Signature from './signature.js';
export * as TaskReads from './task-reads.js';
export * as Tasks from './tasks.js';
