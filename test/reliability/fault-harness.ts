import { randomUUID } from 'node:crypto';
import { services } from '@svc/infra/services';
import { apiGatewayEvent, apiGatewayResponse, RouteMatcher } from '@svc/local/api-events';
import { ensureTable } from '@svc/local/dynamodb';
import { maxReceiveCountOf, visibilityTimeoutSecondsOf } from '@svc/local/environment';
import { createLocalQueue, localSqsClient, pollQueue, type QueuePoller } from '@svc/local/queues';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '@svc/local/runtime';
import type { HttpRoute } from '@svc/platform/routes';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, SQSEvent } from 'aws-lambda';
import { lambdaContext } from '../support/api-event.js';
import { TEST_LIMITS } from '../support/limits.js';
import {
  type FaultProxy,
  type OutageProxy,
  type ProviderFront,
  startFaultProxy,
  startOutageProxy,
  startProviderFront,
} from './fault-proxy.js';
import type { Call, Reply } from './fault-routes.js';

type Handler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyResultV2>;

export interface FaultHarness {
  proxy: FaultProxy;
  /** In front of SQS for every send a function makes (consumers still receive from SQS directly). */
  sqs: OutageProxy;
  /** In front of SES for the email channel. */
  ses: OutageProxy;
  /** In front of the fake SMS providers: can make one slow or silent. */
  providers: ProviderFront;
  runtime: LocalRuntime;
  routes: readonly HttpRoute[];
  /** Serves one call with the route's real handler in this process, as the gateway would. */
  call(call: Call): Promise<Reply>;
  /** Every consumer batch this process handled (for failure messages). */
  invocations: { functionName: string; records: string[]; result: unknown }[];
  /** Runs a scheduled job's handler in this process. */
  runJob(functionName: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A private runtime (its own table, queues, fakes, SSM) whose DynamoDB is DynamoDB Local behind the
 * fault proxy; consumers run in the runtime's workers. HTTP routes run in this process with the
 * environment the runtime gives each function, so no cold start races a fault and every route's
 * handler is the deployed one. Must run before any handler module is imported (config is read once).
 */
export async function startFaultHarness(
  options: Pick<LocalRuntimeOptions, 'log' | 'callbackDelayMs'> = {},
): Promise<FaultHarness> {
  const upstream = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!upstream) throw new Error('the global setup exports AWS_ENDPOINT_URL_DYNAMODB');
  const proxy = await startFaultProxy(upstream);
  const tableName = `svc-faults-${randomUUID().slice(0, 8)}`;
  await ensureTable(upstream, tableName);
  const runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: proxy.endpoint,
    tableName,
    schedules: false,
    // Consumers run in this process (below), so their SES and provider calls pass the fault fronts too.
    pollQueues: false,
    logLevel: 'ERROR',
    log: options.log ?? (() => undefined),
    callbackDelayMs: options.callbackDelayMs ?? 50,
    stage: { limits: TEST_LIMITS },
  });
  const sqs = await startOutageProxy(runtime.endpoints.sqs);
  const ses = await startOutageProxy(runtime.endpoints.ses);
  const routes = services.flatMap((s) => s.routes);
  const consumers = services.flatMap((s) => s.consumers ?? []);
  const jobs = services.flatMap((s) => s.schedules ?? []);
  const env: Record<string, string> = {};
  // Every function's environment at once: the values they share (endpoints, table, stage) are equal.
  for (const fn of [...routes, ...consumers, ...jobs])
    Object.assign(env, runtime.environmentOf(fn.functionName));
  const providers = await startProviderFront({
    provider1: env.PROVIDER1_URL ?? '',
    provider2: env.PROVIDER2_URL ?? '',
  });
  for (const [name, value] of Object.entries(env)) {
    // SQS clients send to the queue URL's host, so the URLs are rewritten as well as the endpoint.
    process.env[name] = value.startsWith(runtime.endpoints.sqs)
      ? `${sqs.endpoint}${value.slice(runtime.endpoints.sqs.length)}`
      : value;
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SES: ses.endpoint,
    PROVIDER1_URL: providers.url('provider1'),
    PROVIDER2_URL: providers.url('provider2'),
    // Short enough for quick failovers, long enough that a loaded machine's fake still answers in time.
    PROVIDER_TIMEOUT_MS: '1500',
    SQS_MAX_RECEIVE_COUNT: String(runtime.stage.queues.maxReceiveCount),
    POWERTOOLS_LOG_LEVEL: process.env.FAULT_LOGS ? 'ERROR' : 'SILENT',
  });
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;

  const handlers = new Map<string, Handler>();
  for (const fn of [...routes, ...consumers, ...jobs]) {
    // Each function's own limits (read at import): the merged environment holds only the last one's.
    const limits = runtime.environmentOf(fn.functionName).RATE_LIMITS;
    if (limits) process.env.RATE_LIMITS = limits;
    else delete process.env.RATE_LIMITS;
    const module = (await import(/* @vite-ignore */ `../../${fn.handler}`)) as { handler: Handler };
    handlers.set(fn.functionName, module.handler);
  }
  const handlerOf = (name: string) => {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`no handler for ${name}`);
    return handler as unknown as (event: unknown, context: unknown) => Promise<unknown>;
  };

  // The mappings talk to SQS directly (local seconds); the handlers go through the runtime's clock.
  const sqsClient = localSqsClient(runtime.queueClock.directSqsEndpoint);
  const invocations: FaultHarness['invocations'] = [];
  const pollers: QueuePoller[] = [];
  for (const service of services)
    for (const consumer of service.consumers ?? []) {
      // The same attributes the runtime gave the queue (CreateQueue refuses a name with other ones).
      const visibilitySeconds = Math.max(
        1,
        Math.round(visibilityTimeoutSecondsOf(service, consumer.queue, runtime.stage) * runtime.timeFactor),
      );
      const queue = await createLocalQueue(
        sqsClient,
        runtime.endpoints.sqs,
        runtime.stage.name,
        consumer.queue,
        {
          visibilityTimeoutSeconds: visibilitySeconds,
          maxReceiveCount: maxReceiveCountOf(service, consumer.queue, runtime.stage),
        },
      );
      pollers.push(
        pollQueue(sqsClient, queue, {
          batchSize: consumer.batchSize,
          timeoutSeconds: 30,
          visibilitySeconds,
          consumerChanged: runtime.queueClock.consumerChanged,
          invoke: async (event: SQSEvent) => {
            const result = await handlerOf(consumer.functionName)(
              event,
              lambdaContext(consumer.functionName),
            );
            invocations.push({
              functionName: consumer.functionName,
              records: event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`),
              result,
            });
            return result;
          },
          onError: () => undefined,
        }),
      );
    }
  const matcher = new RouteMatcher(routes);

  return {
    proxy,
    sqs,
    ses,
    providers,
    runtime,
    routes,
    invocations,
    runJob: (name) =>
      handlerOf(name)({ id: randomUUID(), 'detail-type': 'Scheduled Event' }, lambdaContext(name)),
    async call(call) {
      const path = call.path.split('?')[0] ?? '/';
      const matched = matcher.match(call.method, path);
      if (!matched) throw new Error(`no route for ${call.method} ${path}`);
      const headers: Record<string, string> = {
        host: new URL(runtime.url).host,
        ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
        ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...call.headers,
      };
      const event = apiGatewayEvent(
        {
          method: call.method,
          url: call.path,
          rawHeaders: Object.entries(headers).flat(),
          body: Buffer.from(call.body === undefined ? '' : JSON.stringify(call.body)),
          sourceIp: '127.0.0.1',
        },
        matched.route,
        matched.pathParameters,
      );
      const handler = handlers.get(matched.route.functionName);
      if (!handler) throw new Error(`no handler for ${matched.route.functionName}`);
      let result: APIGatewayProxyResultV2;
      try {
        result = await handler(event, lambdaContext(matched.route.functionName));
      } catch (error) {
        // A handler that throws is a failed invocation: API Gateway answers 500.
        return { status: 500, headers: new Headers(), body: { thrown: String(error) } };
      }
      const out = apiGatewayResponse(result);
      if (out.status >= 500 && process.env.FAULT_LOGS) {
        process.stdout.write(`FAULT 5xx ${matched.route.functionName} ${out.body.toString('utf8')}\n`);
      }
      const text = out.body.toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: kept as text for the assertion message
      }
      const replyHeaders = new Headers();
      for (const [name, value] of Object.entries(out.headers))
        replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
      return { status: out.status, headers: replyHeaders, body };
    },
    async stop() {
      await Promise.all(pollers.map((p) => p.stop()));
      sqsClient.destroy();
      await runtime.stop();
      await Promise.all([proxy.stop(), sqs.stop(), ses.stop(), providers.stop()]);
    },
  };
}
