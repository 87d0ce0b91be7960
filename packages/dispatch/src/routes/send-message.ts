// One route of the dispatch route table (../routes.ts), in its own module so its handler's bundle holds its
// schemas only (functions/dispatch/send-message.ts imports this, not the table).
import { defineRoute } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { SEND_QUEUE } from '../names.js';
import { MessageInput } from '../phone-schemas.js';
import { AcceptedMessage } from '../schemas.js';

export const sendMessage = defineRoute({
  method: 'POST',
  path: '/messages',
  functionName: 'DispatchSendMessage',
  handler: 'functions/dispatch/send-message.ts',
  summary: 'Accept an SMS for delivery through the providers',
  auth: { kind: 'jwt', scopes: ['messages:send'] },
  idempotent: true,
  request: { body: MessageInput },
  responses: {
    202: AcceptedMessage,
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
    429: ErrorBody,
    503: ErrorBody,
  },
  access: { table: 'write', sendsTo: [SEND_QUEUE] },
  // Taken by the domain after suppression (SPEC §5 order), keyed by caller, number and the stage.
  limits: [
    { setting: 'messagesPerCaller', per: 'custom' },
    { setting: 'messagesPerDestination', per: 'custom' },
    { setting: 'dailySegments', per: 'custom' },
  ],
});
