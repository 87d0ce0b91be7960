import {
  baseEnvironment,
  deadLetterQueueName,
  jwtEnvironment,
  limitsEnvironment,
  parameterName,
  parameterVariable,
  physicalQueueName,
  queueUrlVariable,
  type StageConfig,
  type StageOverrides,
  settingsEnvironment,
  stageConfig,
} from '@svc/infra/stage-config';
import type { Access, HttpRoute, QueueConsumer, ScheduledJob, ServiceDefinition } from '@svc/platform/routes';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb.js';

/** Where the local stand-ins listen; each becomes the SDK's standard `AWS_ENDPOINT_URL_*` variable. */
export interface LocalEndpoints {
  dynamodb: string;
  sqs: string;
  s3: string;
  ses: string;
  ssm: string;
}

/** Any Lambda the runtime hosts: an HTTP route, a queue consumer or a scheduled job. */
export type LocalFunction =
  | { kind: 'route'; service: ServiceDefinition; entry: HttpRoute }
  | { kind: 'consumer'; service: ServiceDefinition; entry: QueueConsumer }
  | { kind: 'schedule'; service: ServiceDefinition; entry: ScheduledJob };

export interface LocalNames {
  stage: StageConfig;
  tableName: string;
  bucketName: string;
}

/** Account id fauxqs uses in queue URLs and ARNs. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * The `local` stage preset with its URLs pointed at the gateway actually listening (PORT may differ
 * from the preset's 3000): issuer, JWKS and the fake SMS providers all live under `/__local`.
 * `overrides` change other settings (a test's timeouts); those URLs always stay the gateway's.
 */
export function localStage(gatewayUrl: string, overrides: StageOverrides = {}): StageConfig {
  return stageConfig('local', {
    ...overrides,
    auth: { ...overrides.auth, issuer: `${gatewayUrl}/__local`, jwksUrl: `${gatewayUrl}/__local/jwks.json` },
    settings: {
      ...overrides.settings,
      provider1Url: `${gatewayUrl}/__local/providers/provider1/sms`,
      provider2Url: `${gatewayUrl}/__local/providers/provider2/sms`,
    },
  });
}

/** Every function of every service, in route-table order. */
export function allFunctions(services: readonly ServiceDefinition[]): LocalFunction[] {
  return services.flatMap((service) => [
    ...service.routes.map((entry) => ({ kind: 'route' as const, service, entry })),
    ...(service.consumers ?? []).map((entry) => ({ kind: 'consumer' as const, service, entry })),
    ...(service.schedules ?? []).map((entry) => ({ kind: 'schedule' as const, service, entry })),
  ]);
}

/** `http://127.0.0.1:<port>/000000000000/svc-local-dispatch-send`, the URL local-aws-sqs gives the queue. */
export function localQueueUrl(sqsEndpoint: string, stage: string, queue: string): string {
  return `${sqsEndpoint}/${LOCAL_ACCOUNT_ID}/${physicalQueueName(stage, queue)}`;
}

export function localDeadLetterQueueUrl(sqsEndpoint: string, stage: string, queue: string): string {
  return localQueueUrl(sqsEndpoint, stage, deadLetterQueueName(queue));
}

/** Receives before the DLQ: the consumer's own setting, else the stage's (3 locally), as the CDK app decides. */
export function maxReceiveCountOf(service: ServiceDefinition, queue: string, stage: StageConfig): number {
  const declared = (service.consumers ?? []).find((c) => c.queue === queue)?.maxReceiveCount;
  return declared ?? stage.queues.maxReceiveCount;
}

/** infra/lib/service-api.ts: a queue hides a received message for this many times its longest consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * A queue's visibility timeout in AWS seconds, as the CDK app sets it: at least 6 × the timeout of the
 * longest consumer of the queue (and at least the stage's setting). Locally it is scaled by the time factor.
 */
export function visibilityTimeoutSecondsOf(
  service: ServiceDefinition,
  queue: string,
  stage: StageConfig,
): number {
  const consumerTimeouts = (service.consumers ?? [])
    .filter((c) => c.queue === queue)
    .map((c) => c.timeoutSeconds ?? stage.functions.timeoutSeconds);
  const longest = Math.max(stage.functions.timeoutSeconds, ...consumerTimeouts);
  return Math.max(stage.queues.visibilityTimeoutSeconds ?? 0, VISIBILITY_TIMEOUT_FACTOR * longest);
}

/**
 * The environment one function gets, built by the same helpers the CDK app uses (stage-config.ts),
 * so a function that forgot to declare an access in its route table fails here just as in AWS.
 */
export function functionEnvironment(
  fn: LocalFunction,
  names: LocalNames,
  endpoints: LocalEndpoints,
  gatewayUrl: string,
): Record<string, string> {
  const { stage } = names;
  const env: Record<string, string> = {
    ...baseEnvironment(stage, fn.service.name),
    ...settingsEnvironment(stage, gatewayUrl),
    ...(fn.kind === 'route' && fn.entry.auth.kind === 'jwt' ? jwtEnvironment(stage) : {}),
    ...(fn.kind === 'route' ? limitsEnvironment(stage, fn.service.name, fn.entry.limits) : {}),
    ...(fn.kind === 'consumer'
      ? {
          SQS_MAX_RECEIVE_COUNT: String(maxReceiveCountOf(fn.service, fn.entry.queue, stage)),
          SQS_QUEUE_URL: localQueueUrl(endpoints.sqs, stage.name, fn.entry.queue),
        }
      : {}),
    ...accessEnvironment(fn.entry.access, names, endpoints),
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SES: endpoints.ses,
    AWS_ENDPOINT_URL_SSM: endpoints.ssm,
    AWS_LAMBDA_FUNCTION_NAME: fn.entry.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(stage.functions.memoryMb),
  };
  // Source maps are switched on in the worker itself; NODE_OPTIONS means nothing to a thread.
  delete env.NODE_OPTIONS;
  return env;
}

function accessEnvironment(
  access: Access,
  names: LocalNames,
  endpoints: LocalEndpoints,
): Record<string, string> {
  const stage = names.stage.name;
  const env: Record<string, string> = {};
  if (access.table) env.TABLE_NAME = names.tableName;
  for (const queue of access.sendsTo ?? [])
    env[queueUrlVariable(queue)] = localQueueUrl(endpoints.sqs, stage, queue);
  for (const parameter of access.parameters ?? [])
    env[parameterVariable(parameter)] = parameterName(stage, parameter);
  if (access.bucket) env.REPORTS_BUCKET = names.bucketName;
  return env;
}

/** Milliseconds a function may run before it is stopped, as its Lambda timeout would. */
export function timeoutMsOf(fn: LocalFunction, stage: StageConfig): number {
  return (fn.entry.timeoutSeconds ?? stage.functions.timeoutSeconds) * 1000;
}
