import { defineRoute, type QueueConsumer, type ServiceDefinition } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { CHANNELS } from './channels/index.js';
import { AcceptedRequest, AssistanceInput, AssistanceRequest, RequestPath } from './schemas.js';

export const ROUTING_RULES_PARAMETER = 'assistance-routing-rules';
const channelQueues = CHANNELS.map((c) => c.queue);

export const requestAssistance = defineRoute({
  method: 'POST',
  path: '/assistance',
  functionName: 'AssistanceRequest',
  handler: 'functions/assistance/request-assistance.ts',
  summary: 'Ask for assistance on a topic; the request is routed to its channel and delivered asynchronously',
  auth: { kind: 'jwt', scopes: ['request-assistance'] },
  idempotent: true,
  request: { body: AssistanceInput },
  responses: {
    202: AcceptedRequest,
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
    503: ErrorBody,
  },
  access: { table: 'write', sendsTo: channelQueues, parameters: [ROUTING_RULES_PARAMETER] },
});

export const getAssistanceRequest = defineRoute({
  method: 'GET',
  path: '/assistance/{id}',
  functionName: 'AssistanceGet',
  handler: 'functions/assistance/get-assistance-request.ts',
  summary: 'Delivery status of one of the caller’s assistance requests',
  auth: { kind: 'jwt', scopes: ['request-assistance'] },
  request: { path: RequestPath },
  responses: { 200: AssistanceRequest, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
  access: { table: 'read' },
});

/** One consumer per registered channel; each may send to every channel queue (its own: visibility; others: fallback). */
const consumers: QueueConsumer[] = CHANNELS.map((c) => ({
  ...c.consumer,
  queue: c.queue,
  access: {
    ...c.consumer.access,
    table: 'write',
    sendsTo: channelQueues,
  },
}));

export const assistanceService: ServiceDefinition = {
  name: 'assistance',
  routes: [requestAssistance, getAssistanceRequest],
  consumers,
  queues: channelQueues,
};
