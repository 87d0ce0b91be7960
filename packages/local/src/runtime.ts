import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { StageConfig } from '@svc/infra/stage-config';
import { parameterName, type StageOverrides } from '@svc/infra/stage-config';
import type { HttpRoute, ScheduledJob, ServiceDefinition } from '@svc/platform/routes';
import {
  apiGatewayEvent,
  apiGatewayResponse,
  gatewayErrors,
  MAX_REQUEST_BODY_BYTES,
  type OutgoingResponse,
  RouteMatcher,
} from './api-events.js';
import { ensureTable, freePort, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb.js';
import {
  allFunctions,
  functionEnvironment,
  type LocalEndpoints,
  type LocalFunction,
  localStage,
  maxReceiveCountOf,
  timeoutMsOf,
} from './environment.js';
import { Fakes } from './fakes.js';
import { FunctionHost, InvocationError, type LogSink } from './functions.js';
import { localHelpers } from './helpers.js';
import { createLocalIssuer, type LocalIssuer } from './issuer.js';
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
import { type RunningSes, startLocalSes } from './ses-server.js';
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
  issuer: LocalIssuer;
  /** Invokes any function by name with a raw event, as `pnpm invoke` does. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  runSchedule(name: string): Promise<unknown>;
  queues(): Promise<Record<string, QueueCounts>>;
  redrive(queue: string): Promise<number>;
  setParameter(logicalName: string, value: string | undefined): void;
  /** The environment a function runs with (what CDK would set, with local endpoints). */
  environmentOf(functionName: string): Record<string, string>;
  stop(): Promise<void>;
}

const defaultLog: LogSink = (functionName, line) => process.stdout.write(`[${functionName}] ${line}\n`);

/**
 * Starts the whole system on this machine (SPEC §6): DynamoDB Local, SQS (local-aws-sqs), S3 (fauxqs), SES
 * (aws-ses-v2-local), Parameter Store, fake Slack and SMS providers, a JWT issuer, a scheduler, and one
 * gateway that serves every route from the route tables by invoking the real handlers.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const services = options.services ?? (await import('@svc/infra/services')).services;
  const log = options.log ?? defaultLog;
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
    const endpoints: LocalEndpoints = {
      dynamodb: dynamodb.endpoint,
      sqs: messaging.endpoint,
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
    );
    cleanups.push(() => host.stop());

    const sqs = localSqsClient(endpoints.sqs);
    cleanups.push(() => sqs.destroy());
    const queues = await createQueues(sqs, endpoints.sqs, stage, services);

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
            retryAfterSeconds: stage.queues.visibilityTimeoutSeconds ?? 2,
            invoke: (event) => host.invoke(fn.entry.functionName, event),
            onError: (error) => log(fn.entry.functionName, `batch failed: ${describe(error)}`),
          }),
        );
      }
    }

    const jobs = new Map<string, LocalFunction & { kind: 'schedule'; entry: ScheduledJob }>();
    for (const fn of functions) if (fn.kind === 'schedule') jobs.set(fn.entry.schedule, fn);
    const runSchedule = async (name: string) => {
      const job = jobs.get(name);
      if (!job) throw new Error(`no schedule named ${name}`);
      return host.invoke(job.entry.functionName, scheduledEvent(stage, job.entry));
    };
    if (options.schedules !== false) {
      for (const [name, job] of jobs) {
        const timer = setInterval(() => {
          runSchedule(name).catch((error: unknown) =>
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
      issuer,
      invoke: (functionName, event) => host.invoke(functionName, event),
      runSchedule,
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
    const helpers = localHelpers(runtime, {
      ses,
      ssm,
      queueNames: [...queues.keys()],
      jobNames: [...jobs.keys()],
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      readBody(req)
        .then(async (body) => {
          if (!body) return gatewayErrors.tooLarge();
          const path = (req.url ?? '/').split('?')[0] ?? '/';
          if (path === '/__local' || path.startsWith('/__local/'))
            return helpers(req.method ?? 'GET', path, body);
          // The API document's viewer also answers at /docs (no service route lives there).
          if (path === '/docs' || path === '/docs/') return helpers('GET', '/__local/docs', body);
          const matched = matcher.match(req.method ?? 'GET', path);
          if (!matched) return gatewayErrors.notFound();
          const event = apiGatewayEvent(
            {
              method: req.method ?? 'GET',
              url: req.url ?? '/',
              rawHeaders: req.rawHeaders,
              body,
              sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
            },
            matched.route,
            matched.pathParameters,
          );
          try {
            const result = await host.invoke(matched.route.functionName, event);
            return apiGatewayResponse(result as Parameters<typeof apiGatewayResponse>[0]);
          } catch (error) {
            log(matched.route.functionName, `invocation failed: ${describe(error)}`);
            return error instanceof InvocationError && error.kind === 'timeout'
              ? gatewayErrors.timeout()
              : gatewayErrors.internal();
          }
        })
        .then((response) => send(res, response))
        .catch((error: unknown) => {
          log('local', `gateway error: ${describe(error)}`);
          send(res, gatewayErrors.internal());
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
): Promise<Map<string, LocalQueue>> {
  const queues = new Map<string, LocalQueue>();
  for (const service of services) {
    for (const name of service.queues ?? []) {
      if (queues.has(name)) throw new Error(`queue "${name}" is declared by two services`);
      queues.set(
        name,
        await createLocalQueue(sqs, endpoint, stage.name, name, {
          visibilityTimeoutSeconds: stage.queues.visibilityTimeoutSeconds ?? 2,
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

/** What EventBridge Scheduler hands a Lambda target. */
export function scheduledEvent(stage: StageConfig, job: ScheduledJob) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [
      `arn:aws:scheduler:${LOCAL_REGION}:000000000000:schedule/default/svc-${stage.name}-${job.schedule}`,
    ],
    detail: {},
  };
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

function send(res: ServerResponse, response: OutgoingResponse): void {
  if (res.headersSent) return;
  res.writeHead(response.status, {
    ...response.headers,
    'apigw-requestid': randomUUID(),
    'content-length': String(response.body.length),
  });
  res.end(response.body);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

export type { RunningSes, RunningSsm };
