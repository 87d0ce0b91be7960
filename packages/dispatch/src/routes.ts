import { defineRoute, type QueueConsumer, type ServiceDefinition } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import {
  AcceptedMessage,
  CallbackQuery,
  DeliveryStatusInput,
  DeliveryStatusResult,
  ListQuery,
  MessageInput,
  MessagePage,
  MessagePath,
  MessageView,
} from './schemas.js';

export const SEND_QUEUE = 'dispatch-send';
/** Status callbacks to senders go through their own queue, so a slow receiver never holds up SMS. */
export const STATUS_CALLBACKS_QUEUE = 'dispatch-status-callbacks';
/** Logical SSM parameter (SecureString) keying `X-Signature` of status callbacks. */
export const STATUS_CALLBACK_SECRET_PARAMETER = 'dispatch-status-callback-secret';
/** Logical SSM parameter (SecureString) holding the HMAC key of callback URLs. */
export const CALLBACK_SECRET_PARAMETER = 'dispatch-callback-secret';

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

export const sender: QueueConsumer = {
  functionName: 'DispatchSender',
  handler: 'functions/dispatch/sender.ts',
  summary: 'Hands queued messages to an SMS provider, failing over between providers',
  queue: SEND_QUEUE,
  batchSize: 10,
  // Records of a batch run in parallel; one record makes at most one call per provider.
  timeoutSeconds: 30,
  // sendsTo its own queue: a provider's acceptance the table refused goes back onto it (sender.ts).
  access: {
    table: 'write',
    parameters: [CALLBACK_SECRET_PARAMETER],
    sendsTo: [SEND_QUEUE, STATUS_CALLBACKS_QUEUE],
  },
};

export const statusCallbacks: QueueConsumer = {
  functionName: 'DispatchStatusCallbacks',
  handler: 'functions/dispatch/status-callbacks.ts',
  summary: "POSTs a message's status changes, signed and in order, to the sender's status_callback_url",
  queue: STATUS_CALLBACKS_QUEUE,
  batchSize: 10,
  // A sync makes at most one 5 s call per status (four), one message per record, records in parallel.
  timeoutSeconds: 30,
  access: {
    table: 'write',
    parameters: [STATUS_CALLBACK_SECRET_PARAMETER],
    sendsTo: [STATUS_CALLBACKS_QUEUE],
  },
};

export const dispatchService: ServiceDefinition = {
  name: 'dispatch',
  routes: [sendMessage, getMessage, listMessages, deliveryStatus],
  consumers: [sender, statusCallbacks],
  queues: [SEND_QUEUE, STATUS_CALLBACKS_QUEUE],
};
