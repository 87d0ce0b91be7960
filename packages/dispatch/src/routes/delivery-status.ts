// One route of the dispatch route table (../routes.ts), in its own module so its handler's bundle holds its
// schemas only (functions/dispatch/delivery-status.ts imports this, not the table).
import { defineRoute } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { CALLBACK_SECRET_PARAMETER, STATUS_CALLBACKS_QUEUE } from '../names.js';
import { CallbackQuery, DeliveryStatusInput, DeliveryStatusResult } from '../schemas.js';

export const deliveryStatus = defineRoute({
  method: 'POST',
  path: '/messages/delivery_status',
  functionName: 'DispatchDeliveryStatus',
  handler: 'functions/dispatch/delivery-status.ts',
  summary: "A provider's delivery report; the signed token in the URL names the message",
  auth: { kind: 'signed' },
  request: { query: CallbackQuery, body: DeliveryStatusInput },
  responses: { 200: DeliveryStatusResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
  access: { table: 'write', parameters: [CALLBACK_SECRET_PARAMETER], sendsTo: [STATUS_CALLBACKS_QUEUE] },
});
