import type { QueueConsumer, ServiceDefinition } from '@svc/platform';
import {
  CALLBACK_SECRET_PARAMETER,
  SEND_QUEUE,
  STATUS_CALLBACK_SECRET_PARAMETER,
  STATUS_CALLBACKS_QUEUE,
} from './names.js';
import { deliveryStatus } from './routes/delivery-status.js';
import { getMessage } from './routes/get-message.js';
import { listMessages } from './routes/list-messages.js';
import { sendMessage } from './routes/send-message.js';

// The route table: each HTTP route is defined in routes/<name>.ts, which is all its handler imports (a route's
// bundle does not carry the other routes' schemas, e.g. libphonenumber for GET /messages/{id}).
export * from './names.js';
export { deliveryStatus, getMessage, listMessages, sendMessage };

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
