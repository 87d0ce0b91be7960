import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { StageConfig } from '@svc/infra/stage-config';
import { parameterName, physicalQueueName, type StageOverrides } from '@svc/infra/stage-config';
import type { HttpRoute, ScheduledJob, ServiceDefinition } from '@svc/platform/routes';
import {
  API_DOCUMENT_PATH,
  requestIdOf,
  routeTemplates,
  unmatchedRoute,
} from '@svc/platform/unmatched-route';
import {
  apiGatewayEvent,
  apiGatewayResponse,
  gatewayErrors,
  gatewayRequestId,
  INTEGRATION_TIMEOUT_MS,
  MAX_INVOKE_PAYLOAD_BYTES,
  MAX_REQUEST_BODY_BYTES,
  type OutgoingResponse,
  payloadBytes,
  RouteMatcher,
} from './api-events.js';
import { ensureTable, freePort, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb.js';
import {
  allFunctions,
  functionEnvironment,
  type LocalEndpoints,
  type LocalFunction,
  localQueueUrl,
  localStage,
  maxReceiveCountOf,
  timeoutMsOf,
  visibilityTimeoutSecondsOf,
} from './environment.js';
import { Fakes } from './fakes.js';
import { FunctionHost, type LogSink, type PoolStats } from './functions.js';
import { localHelpers } from './helpers.js';
import { createLocalIssuer, type LocalIssuer } from './issuer.js';
import { LocalMetrics } from './metrics.js';
import {
  createLocalQueue,
  type LocalQueue,
  localSqsClient,
  pollQueue,
  type QueueCounts,
  type QueuePoller,
  queueCounts,
  redrive,
} from './queues.js';
import { startLocalS3 } from './s3-server.js';
import { type AsyncDelivery, LocalScheduler, scheduledEvent } from './scheduler.js';
import { type RunningSes, startLocalSes } from './ses-server.js';
import { LOCAL_TIME_FACTOR, scaleSeconds, startSqsClock } from './sqs-clock.js';
import { startLocalSqs } from './sqs-server.js';
import { type RunningSsm, startLocalSsm } from './ssm-server.js';

export interface LocalRuntimeOptions {
  /** Services to serve; default: the same list the CDK app deploys (infra/lib/services.ts). */
  services?: readonly ServiceDefinition[];
  /** Gateway port; 0 picks a free one. Default `PORT` or 3000. */
  port?: number;
  /** Use a DynamoDB that is already running instead of starting DynamoDB Local (tests). */
  dynamodbEndpoint?: string;
  tableName?: string;
  /** Parameter values by logical name; `undefined` leaves one unset. Merged over the local defaults. */
  parameters?: Record<string, string | undefined>;
  /** Run scheduled jobs on their interval (default true; tests usually trigger them by hand). */
  schedules?: boolean;
  /** Poll queues into their consumers (default true). */
  pollQueues?: boolean;
  /** Where function output and runtime notes go; default: stdout, prefixed with the function name. */
  log?: LogSink;
  /** POWERTOOLS_LOG_LEVEL for every function (default: the stage's). */
  logLevel?: StageConfig['logLevel'];
  /** Fake provider callback delay (default 300 ms). */
  callbackDelayMs?: number;
  /** Changes to the `local` stage settings (e.g. longer timeouts for a test on a busy machine). */
  stage?: StageOverrides;
  /** Local seconds per AWS second for queue visibility, consumer delays and Lambda's async retry waits (default 1/30). */
  timeFactor?: number;
  /** Sandboxes (worker threads) one function may run at once (default 4). */
  maxSandboxesPerFunction?: number;
  /** Every n-th run of a schedule is delivered twice, as at-least-once delivery allows (default 10; 0 never). */
  scheduleDuplicateEvery?: number;
}

export interface LocalRuntime {
  /** `http://127.0.0.1:<port>`: every route of every service plus `/__local/*`. */
  url: string;
  stage: StageConfig;
  tableName: string;
  bucketName: string;
  endpoints: LocalEndpoints;
  services: readonly ServiceDefinition[];
  fakes: Fakes;
  /** The functions' EMF lines added up (`GET /__local/metrics`). */
  metrics: LocalMetrics;
  issuer: LocalIssuer;
  /** Invokes any function by name with a raw event, as `pnpm invoke` does. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Runs a scheduled job now, synchronously, and returns its result (the `/__local/schedules/{name}/run` helper). */
  runSchedule(name: string): Promise<unknown>;
  /** One run as Scheduler makes it: an asynchronous invocation with Lambda's retries, DLQ and occasional duplicate. */
  fireSchedule(name: string): Promise<AsyncDelivery[]>;
  /** Events in a scheduled job's dead-letter queue. */
  scheduleDeadLetters(name: string): Promise<number>;
  /** One function's sandboxes so far (cold starts, busy, waiting). */
  sandboxes(functionName: string): PoolStats;
  /** Local seconds per AWS second (see `timeFactor`). */
  timeFactor: number;
  /**
   * For harnesses that run their own event source mappings (pollQueue): the SQS server itself, where
   * times are local seconds, and whether a consumer postponed a receipt (see sqs-clock.ts).
   */
  queueClock: { directSqsEndpoint: string; consumerChanged(receiptHandle: string): boolean };
  queues(): Promise<Record<string, QueueCounts>>;
  redrive(queue: string): Promise<number>;
  setParameter(logicalName: string, value: string | undefined): void;
  /** The environment a function runs with (what CDK would set, with local endpoints). */
  environmentOf(functionName: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * SPEC §6: `x-local-source-ip` stands in for the client address (so tests can act as many clients);
 * otherwise the socket's. The header exists only here, never in AWS, and is passed on like any other.
 */
function localSourceIp(req: IncomingMessage): string {
  const claimed = req.headers['x-local-source-ip'];
  const value = (Array.isArray(claimed) ? claimed[0] : claimed)?.trim();
  if (value && /^[0-9A-Fa-f.:]{2,45}$/.test(value)) return value;
  return req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
}

const defaultLog: LogSink = (functionName, line) => process.stdout.write(`[${functionName}] ${line}\n`);

/**
 * Starts the whole system on this machine (SPEC §6): DynamoDB Local, SQS (local-aws-sqs), S3 (fauxqs), SES
 * (aws-ses-v2-local), Parameter Store, fake Slack and SMS providers, a JWT issuer, a scheduler, and one
 * gateway that serves every route from the route tables by invoking the real handlers.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const services = options.services ?? (await import('@svc/infra/services')).services;
  const sink = options.log ?? defaultLog;
  const metrics = new LocalMetrics();
  // Every line still goes to the function's output (as CloudWatch Logs keeps it); EMF lines are also summed.
  const log: LogSink = (functionName, line) => {
    metrics.observe(functionName, line);
    sink(functionName, line);
  };
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    cleanups.length = 0;
  };

  try {
    // The gateway's port decides URLs every function is told about, so it is bound first.
    const server = createServer();
    await listen(server, port);
    cleanups.push(() => closeServer(server));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const baseStage = localStage(url, options.stage);
    const stage: StageConfig = options.logLevel ? { ...baseStage, logLevel: options.logLevel } : baseStage;
    const tableName = options.tableName ?? `svc-${stage.name}`;
    const bucketName = `svc-${stage.name}-reports`;

    const [dynamodb, storage, messaging, ses, ssm] = await Promise.all([
      options.dynamodbEndpoint
        ? Promise.resolve({ endpoint: options.dynamodbEndpoint, stop: async () => undefined })
        : startDynamoDbLocal(await freePort()),
      startLocalS3({ buckets: [bucketName] }),
      startLocalSqs(),
      startLocalSes(),
      startLocalSsm(),
    ]);
    cleanups.push(
      () => dynamodb.stop(),
      () => storage.stop(),
      () => messaging.stop(),
      () => ses.stop(),
      () => ssm.stop(),
    );
    // Functions and tests speak SQS through the local clock, which scales the times they ask for.
    const timeFactor = options.timeFactor ?? LOCAL_TIME_FACTOR;
    const clock = await startSqsClock(messaging.endpoint, timeFactor);
    cleanups.push(() => clock.stop());
    const endpoints: LocalEndpoints = {
      dynamodb: dynamodb.endpoint,
      sqs: clock.endpoint,
      s3: storage.endpoint,
      ses: ses.endpoint,
      ssm: ssm.endpoint,
    };
    await ensureTable(endpoints.dynamodb, tableName);
    await ensureBucket(endpoints.s3, bucketName);

    const parameterValues = { ...(await defaultParameters(url)), ...options.parameters };
    const setParameter = (logical: string, value: string | undefined) => {
      const full = parameterName(stage.name, logical);
      if (value === undefined) ssm.delete(full);
      else ssm.put(full, value);
    };
    for (const [logical, value] of Object.entries(parameterValues)) setParameter(logical, value);

    const functions = allFunctions(services);
    const environments = new Map(
      functions.map((fn) => [
        fn.entry.functionName,
        functionEnvironment(fn, { stage, tableName, bucketName }, endpoints, url),
      ]),
    );
    const host = new FunctionHost(
      functions.map((fn) => ({
        functionName: fn.entry.functionName,
        handler: fn.entry.handler,
        environment: environments.get(fn.entry.functionName) ?? {},
        timeoutMs: timeoutMsOf(fn, stage),
        memoryMb: stage.functions.memoryMb,
      })),
      log,
      options.maxSandboxesPerFunction !== undefined
        ? { maxSandboxesPerFunction: options.maxSandboxesPerFunction }
        : {},
    );
    cleanups.push(() => host.stop());

    // The runtime's own client (event source mappings, counts, redrive) talks to SQS directly, in local time.
    const sqs = localSqsClient(messaging.endpoint);
    cleanups.push(() => sqs.destroy());
    const queues = await createQueues(sqs, endpoints.sqs, stage, services, timeFactor);

    const fakes = new Fakes({
      callbackDelayMs: options.callbackDelayMs ?? 300,
      onCallbackError: (error) => log('local', `provider callback failed: ${String(error)}`),
    });
    cleanups.push(() => fakes.stop());
    const issuer = await createLocalIssuer({ issuer: stage.auth.issuer, audience: stage.auth.audience });

    const pollers: QueuePoller[] = [];
    cleanups.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });
    if (options.pollQueues !== false) {
      for (const fn of functions) {
        if (fn.kind !== 'consumer') continue;
        const queue = queues.get(fn.entry.queue);
        if (!queue)
          throw new Error(`${fn.entry.functionName}: queue ${fn.entry.queue} is not declared by any service`);
        pollers.push(
          pollQueue(sqs, queue, {
            batchSize: fn.entry.batchSize,
            timeoutSeconds: timeoutMsOf(fn, stage) / 1000,
            visibilitySeconds: scaleSeconds(
              visibilityTimeoutSecondsOf(fn.service, fn.entry.queue, stage),
              timeFactor,
            ),
            consumerChanged: (handle) => clock.takeConsumerChange(handle),
            invoke: (event) => host.invoke(fn.entry.functionName, event),
            onError: (error) => log(fn.entry.functionName, `batch failed: ${describe(error)}`),
          }),
        );
      }
    }

    const jobs = new Map<string, LocalFunction & { kind: 'schedule'; entry: ScheduledJob }>();
    for (const fn of functions) if (fn.kind === 'schedule') jobs.set(fn.entry.schedule, fn);
    const jobOf = (name: string) => {
      const job = jobs.get(name);
      if (!job) throw new Error(`no schedule named ${name}`);
      return job;
    };
    // Each scheduled function's DLQ, as the CDK app creates it: `<schedule>-schedule-dlq`.
    const scheduleDlqUrl = (schedule: string) =>
      localQueueUrl(endpoints.sqs, stage.name, `${schedule}-schedule-dlq`);
    for (const name of jobs.keys())
      await sqs.send(
        new CreateQueueCommand({
          QueueName: physicalQueueName(stage.name, `${name}-schedule-dlq`),
          Attributes: { MessageRetentionPeriod: '1209600' },
        }),
      );
    const scheduler = new LocalScheduler({
      stage,
      factor: timeFactor,
      duplicateEvery: options.scheduleDuplicateEvery ?? 10,
      invoke: (functionName, event) => host.invoke(functionName, event),
      // What Lambda puts in a function's DLQ: the event, with the request id and error as attributes.
      deadLetter: async (job, event, error) => {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: scheduleDlqUrl(job.schedule),
            MessageBody: JSON.stringify(event),
            MessageAttributes: {
              RequestID: { DataType: 'String', StringValue: (event as { id: string }).id },
              ErrorCode: { DataType: 'Number', StringValue: '200' },
              ErrorMessage: {
                DataType: 'String',
                StringValue: (error instanceof Error ? error.message : String(error)).slice(0, 1000),
              },
            },
          }),
        );
      },
      log,
    });
    const runSchedule = async (name: string) =>
      host.invoke(jobOf(name).entry.functionName, scheduledEvent(stage, jobOf(name).entry));
    const fireSchedule = (name: string) => scheduler.fire(jobOf(name).entry);
    if (options.schedules !== false) {
      for (const [name, job] of jobs) {
        const timer = setInterval(() => {
          fireSchedule(name).catch((error: unknown) =>
            log(job.entry.functionName, `scheduled run failed: ${describe(error)}`),
          );
        }, stage.settings.reportIntervalMinutes * 60_000);
        timer.unref();
        cleanups.push(() => clearInterval(timer));
      }
    }

    const runtime: LocalRuntime = {
      url,
      stage,
      tableName,
      bucketName,
      endpoints,
      services,
      fakes,
      metrics,
      issuer,
      invoke: (functionName, event) => host.invoke(functionName, event),
      runSchedule,
      fireSchedule,
      scheduleDeadLetters: async (name) => {
        jobOf(name);
        const counts = await queueCounts(sqs, {
          name,
          url: scheduleDlqUrl(name),
          dlqUrl: scheduleDlqUrl(name),
          arn: '',
          maxReceiveCount: 0,
        });
        return counts.visible + counts.in_flight;
      },
      sandboxes: (functionName) => host.stats(functionName),
      timeFactor,
      queueClock: {
        directSqsEndpoint: messaging.endpoint,
        consumerChanged: (handle) => clock.takeConsumerChange(handle),
      },
      queues: async () => {
        const entries = await Promise.all(
          [...queues.values()].map(async (q) => [q.name, await queueCounts(sqs, q)] as const),
        );
        return Object.fromEntries(entries);
      },
      redrive: async (name) => {
        const queue = queues.get(name);
        if (!queue) throw new Error(`no queue named ${name}`);
        return redrive(sqs, queue);
      },
      setParameter,
      environmentOf: (functionName) => {
        const env = environments.get(functionName);
        if (!env) throw new Error(`no function named ${functionName}`);
        return { ...env };
      },
      stop: stopAll,
    };

    const routes = functions.filter(
      (fn): fn is LocalFunction & { kind: 'route'; entry: HttpRoute } => fn.kind === 'route',
    );
    const matcher = new RouteMatcher(routes.map((fn) => fn.entry));
    const templates = routeTemplates(services);
    const helpers = localHelpers(runtime, {
      ses,
      ssm,
      queueNames: [...queues.keys()],
      jobNames: [...jobs.keys()],
    });
    const gatewayPort = (server.address() as AddressInfo).port;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      let requestId = gatewayRequestId();
      readBody(req)
        .then(async (body): Promise<OutgoingResponse> => {
          if (!body) return gatewayErrors.tooLarge();
          const path = (req.url ?? '/').split('?')[0] ?? '/';
          if (path === '/__local' || path.startsWith('/__local/'))
            return helpers(req.method ?? 'GET', path, body);
          // The API document's viewer also answers at /docs (no service route lives there).
          if (path === '/docs' || path === '/docs/') return helpers('GET', '/__local/docs', body);
          const matched = matcher.match(req.method ?? 'GET', path);
          if (!matched) {
            // The API's $default route in AWS: the document, or 404 / 405 with Allow in the envelope.
            if (path === API_DOCUMENT_PATH && req.method === 'GET')
              return helpers('GET', '/__local/openapi.json', body);
            const requestId = requestIdOf({ 'x-request-id': headerOf(req, 'x-request-id') });
            return apiGatewayResponse(unmatchedRoute(templates, path, requestId));
          }
          const event = apiGatewayEvent(
            {
              method: req.method ?? 'GET',
              url: req.url ?? '/',
              rawHeaders: req.rawHeaders,
              body,
              sourceIp: localSourceIp(req),
              port: gatewayPort,
              protocol: 'http',
            },
            matched.route,
            matched.pathParameters,
          );
          requestId = event.requestContext.requestId;
          // Lambda refuses an event over its synchronous payload quota before the function runs.
          if (payloadBytes(event) > MAX_INVOKE_PAYLOAD_BYTES) {
            log(matched.route.functionName, 'request payload over the 6 MB Lambda quota: 413');
            return gatewayErrors.tooLarge();
          }
          // The integration timeout runs from the moment a sandbox takes the request: waiting for one is
          // the local pool's cap, which has no counterpart in AWS.
          let integrationTimer: NodeJS.Timeout | undefined;
          let startIntegrationTimer: () => void = () => undefined;
          const integrationTimeout = new Promise<'timeout'>((resolve) => {
            startIntegrationTimer = () => {
              integrationTimer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
            };
          });
          try {
            const result = await Promise.race([
              host.invoke(matched.route.functionName, event, () => startIntegrationTimer()),
              integrationTimeout,
            ]);
            if (result === 'timeout') {
              log(matched.route.functionName, 'integration timed out after 30 s: 503');
              return gatewayErrors.unavailable();
            }
            return apiGatewayResponse(result as Parameters<typeof apiGatewayResponse>[0]);
          } catch (error) {
            // A function error, a function timeout or a response over the quota: the HTTP API answers 500.
            log(matched.route.functionName, `invocation failed: ${describe(error)}`);
            return gatewayErrors.internal();
          } finally {
            clearTimeout(integrationTimer);
          }
        })
        .then((response) => send(res, response, requestId))
        .catch((error: unknown) => {
          log('local', `gateway error: ${describe(error)}`);
          send(res, gatewayErrors.internal(), requestId);
        });
    });

    return runtime;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Local values for every parameter the services read; the tasks webhook secret stays unset (signatures optional). */
async function defaultParameters(url: string): Promise<Record<string, string>> {
  const defaults: Record<string, string> = {
    'visits-token-secret': randomBytes(32).toString('hex'),
    'dispatch-callback-secret': randomBytes(32).toString('hex'),
    // Shown by GET /__local/parameters, so a local receiver can check X-Signature.
    'dispatch-status-callback-secret': randomBytes(32).toString('hex'),
    'assistance-slack-webhook-url': `${url}/__local/slack/webhook`,
  };
  // The service's own default rules, when it exports them; otherwise the service falls back by itself.
  try {
    const rules = (await import('@svc/assistance/rules')) as { DEFAULT_ROUTING_RULES?: unknown };
    if (rules.DEFAULT_ROUTING_RULES !== undefined) {
      defaults['assistance-routing-rules'] =
        typeof rules.DEFAULT_ROUTING_RULES === 'string'
          ? rules.DEFAULT_ROUTING_RULES
          : JSON.stringify(rules.DEFAULT_ROUTING_RULES);
    }
  } catch {
    // Not there yet: nothing to seed.
  }
  return defaults;
}

async function createQueues(
  sqs: SQSClient,
  endpoint: string,
  stage: StageConfig,
  services: readonly ServiceDefinition[],
  timeFactor: number,
): Promise<Map<string, LocalQueue>> {
  const queues = new Map<string, LocalQueue>();
  for (const service of services) {
    for (const name of service.queues ?? []) {
      if (queues.has(name)) throw new Error(`queue "${name}" is declared by two services`);
      queues.set(
        name,
        await createLocalQueue(sqs, endpoint, stage.name, name, {
          // The queue's own timeout is the one the CDK app sets, in local time (whole seconds here;
          // the event source mapping applies the exact value to failed records).
          visibilityTimeoutSeconds: Math.max(
            1,
            Math.round(visibilityTimeoutSecondsOf(service, name, stage) * timeFactor),
          ),
          maxReceiveCount: maxReceiveCountOf(service, name, stage),
        }),
      );
    }
  }
  return queues;
}

async function ensureBucket(endpoint: string, bucket: string): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
      if (error?.name !== 'BucketAlreadyOwnedByYou' && error?.name !== 'BucketAlreadyExists') throw error;
    });
  } finally {
    s3.destroy();
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The whole body, or undefined past the payload quota (read to the end but not kept, so memory stays bounded). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => resolve(size <= MAX_REQUEST_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

/** `apigw-requestid` is the same id the function saw as `requestContext.requestId`. */
function send(res: ServerResponse, response: OutgoingResponse, requestId: string): void {
  if (res.headersSent) return;
  res.writeHead(response.status, {
    ...response.headers,
    'apigw-requestid': requestId,
    'content-length': String(response.body.length),
  });
  res.end(response.body);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

export type { AsyncDelivery, RunningSes, RunningSsm };
export { scheduledEvent };

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
