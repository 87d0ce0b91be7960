// One route of the dispatch route table (../routes.ts), in its own module so its handler's bundle holds its
// schemas only (functions/dispatch/get-message.ts imports this, not the table).
import { defineRoute } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { MessagePath, MessageView } from '../schemas.js';

export const getMessage = defineRoute({
  method: 'GET',
  path: '/messages/{id}',
  functionName: 'DispatchGetMessage',
  handler: 'functions/dispatch/get-message.ts',
  summary: 'One message with its status history',
  auth: { kind: 'jwt', scopes: ['messages:read'] },
  request: { path: MessagePath },
  responses: { 200: MessageView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
  access: { table: 'read' },
});
