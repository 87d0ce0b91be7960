// One route of the dispatch route table (../routes.ts), in its own module so its handler's bundle holds its
// schemas only (functions/dispatch/list-messages.ts imports this, not the table).
import { defineRoute } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { ListQuery } from '../phone-schemas.js';
import { MessagePage } from '../schemas.js';

export const listMessages = defineRoute({
  method: 'GET',
  path: '/messages',
  functionName: 'DispatchListMessages',
  handler: 'functions/dispatch/list-messages.ts',
  summary: 'Messages newest first, optionally to one number',
  auth: { kind: 'jwt', scopes: ['messages:read'] },
  request: { query: ListQuery },
  responses: { 200: MessagePage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
  access: { table: 'read' },
});
