import * as v from 'valibot';

/**
 * Everything that differs between environments, in one typed, validated object.
 * PURE on purpose (no aws-cdk-lib): the local runtime imports it to set the same environment
 * variables the CDK app sets on every Lambda.
 */

/** Retention values CloudWatch Logs accepts; anything else fails at synth, not at deploy. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Short enough that `svc-<stage>-assistance-email-dlq` and the stack name stay within AWS limits. */
const STAGE_NAME = /^[a-z][a-z0-9-]{0,23}$/;

const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const Url = v.pipe(v.string(), v.url());

export const StageConfigSchema = v.object({
  name: v.pipe(
    v.string(),
    v.regex(STAGE_NAME, 'stage names are 1-24 chars: a-z, 0-9, "-", starting with a letter'),
  ),
  env: v.optional(
    v.object({
      account: v.optional(v.pipe(v.string(), v.regex(/^\d{12}$/, 'an AWS account id is 12 digits'))),
      region: v.optional(v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'not an AWS region name'))),
    }),
  ),
  removal: v.picklist(['destroy', 'retain']),
  pointInTimeRecovery: v.boolean(),
  deletionProtection: v.boolean(),
  logRetentionDays: v.picklist(LOG_RETENTION_DAYS),
  logLevel: v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']),
  alarmEmail: v.optional(v.pipe(v.string(), v.email())),
  api: v.object({ throttlingRateLimit: PositiveInt, throttlingBurstLimit: PositiveInt }),
  auth: v.object({ issuer: Url, audience: v.pipe(v.string(), v.minLength(1)), jwksUrl: Url }),
  queues: v.object({
    /** Locally: how soon a failed message is visible again. In AWS the stack raises it to ≥ 6 × the consumer timeout. */
    visibilityTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(43_200))),
    maxReceiveCount: v.pipe(PositiveInt, v.maxValue(1000)),
    /**
     * First retry delay for consumers that back off (dispatch-send): doubles with each attempt, capped at
     * 15 minutes. Unset: a failed message comes back after the queue's visibility timeout.
     */
    retryBackoffSeconds: v.optional(v.pipe(PositiveInt, v.maxValue(900))),
  }),
  settings: v.object({
    startingMinutes: v.pipe(v.number(), v.integer(), v.minValue(0)),
    reportIntervalMinutes: PositiveInt,
    /** Days a stored task report is kept: the index items' TTL and the bucket's expiration rule. */
    reportRetentionDays: v.pipe(PositiveInt, v.maxValue(3650)),
    provider1Url: Url,
    provider2Url: Url,
    providerWeights: v.pipe(
      v.record(v.pipe(v.string(), v.regex(/^[a-z0-9]+$/)), v.pipe(v.number(), v.integer(), v.minValue(0))),
      v.check((w) => Object.values(w).some((n) => n > 0), 'at least one provider needs a weight above 0'),
    ),
    providerTimeoutMs: PositiveInt,
    emailFrom: v.pipe(v.string(), v.email()),
  }),
  functions: v.object({
    memoryMb: v.pipe(v.number(), v.integer(), v.minValue(128), v.maxValue(10_240)),
    timeoutSeconds: v.pipe(PositiveInt, v.maxValue(900)),
  }),
});

export type StageConfig = v.InferOutput<typeof StageConfigSchema>;

const dev: StageConfig = {
  name: 'dev',
  removal: 'destroy',
  pointInTimeRecovery: false,
  deletionProtection: false,
  logRetentionDays: 14,
  logLevel: 'DEBUG',
  api: { throttlingRateLimit: 50, throttlingBurstLimit: 100 },
  auth: {
    issuer: 'https://auth.dev.example.com/',
    audience: 'https://api.dev.example.com',
    jwksUrl: 'https://auth.dev.example.com/.well-known/jwks.json',
  },
  queues: { maxReceiveCount: 5, retryBackoffSeconds: 30 },
  settings: {
    startingMinutes: 120,
    reportIntervalMinutes: 60,
    reportRetentionDays: 30,
    provider1Url: 'https://provider1.dev.example.com/sms',
    provider2Url: 'https://provider2.dev.example.com/sms',
    providerWeights: { provider1: 30, provider2: 70 },
    providerTimeoutMs: 3000,
    emailFrom: 'no-reply@dev.example.com',
  },
  functions: { memoryMb: 512, timeoutSeconds: 10 },
};

const prod: StageConfig = {
  ...dev,
  name: 'prod',
  removal: 'retain',
  pointInTimeRecovery: true,
  deletionProtection: true,
  logRetentionDays: 90,
  logLevel: 'INFO',
  api: { throttlingRateLimit: 500, throttlingBurstLimit: 1000 },
  auth: {
    issuer: 'https://auth.example.com/',
    audience: 'https://api.example.com',
    jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
  },
  queues: { maxReceiveCount: 8, retryBackoffSeconds: 30 },
  settings: {
    ...dev.settings,
    reportRetentionDays: 90,
    provider1Url: 'https://provider1.example.com/sms',
    provider2Url: 'https://provider2.example.com/sms',
    emailFrom: 'no-reply@example.com',
  },
  functions: { memoryMb: 1024, timeoutSeconds: 10 },
};

/** The laptop stage (SPEC §6): failures reach the DLQ in seconds, reports run every minute. */
const local: StageConfig = {
  ...dev,
  name: 'local',
  logLevel: 'INFO',
  auth: {
    issuer: 'http://127.0.0.1:3000/__local',
    audience: 'svc-local',
    jwksUrl: 'http://127.0.0.1:3000/__local/jwks.json',
  },
  queues: { visibilityTimeoutSeconds: 2, maxReceiveCount: 3 },
  settings: {
    ...dev.settings,
    reportIntervalMinutes: 1,
    reportRetentionDays: 90,
    provider1Url: 'http://127.0.0.1:3000/__local/providers/provider1/sms',
    provider2Url: 'http://127.0.0.1:3000/__local/providers/provider2/sms',
    providerTimeoutMs: 1000,
    emailFrom: 'no-reply@example.com',
  },
};

export const presets = { dev, prod, local } as const satisfies Record<string, StageConfig>;

export type PresetName = keyof typeof presets;

/** Section-wise overrides (e.g. an alarm email or account from CDK context). */
export type StageOverrides = Partial<
  Omit<StageConfig, 'api' | 'auth' | 'queues' | 'settings' | 'functions'> & {
    api: Partial<StageConfig['api']>;
    auth: Partial<StageConfig['auth']>;
    queues: Partial<StageConfig['queues']>;
    settings: Partial<StageConfig['settings']>;
    functions: Partial<StageConfig['functions']>;
  }
>;

function isPreset(name: string): name is PresetName {
  return Object.hasOwn(presets, name);
}

/**
 * The config of any stage: a preset for `dev`, `prod` and `local`, otherwise the dev preset under the
 * given name (feature stages). Throws with every problem listed when the result is invalid.
 */
export function stageConfig(name: string, overrides: StageOverrides = {}): StageConfig {
  const base = isPreset(name) ? presets[name] : { ...presets.dev, name };
  const merged = {
    ...base,
    ...overrides,
    name,
    api: { ...base.api, ...overrides.api },
    auth: { ...base.auth, ...overrides.auth },
    queues: { ...base.queues, ...overrides.queues },
    settings: { ...base.settings, ...overrides.settings },
    functions: { ...base.functions, ...overrides.functions },
  };
  return validateStageConfig(merged);
}

export function validateStageConfig(candidate: unknown): StageConfig {
  const result = v.safeParse(StageConfigSchema, candidate);
  if (result.success) return result.output;
  const problems = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`);
  throw new Error(`Invalid stage config:\n  ${problems.join('\n  ')}`);
}

/** `provider1:30,provider2:70` — the PROVIDER_WEIGHTS wire format. */
export function formatProviderWeights(weights: Record<string, number>): string {
  return Object.entries(weights)
    .map(([provider, weight]) => `${provider}:${weight}`)
    .join(',');
}

/**
 * The stage settings every function gets (cheap and uniform, so no function needs to declare them).
 * `callbackBaseUrl` is the API's own base URL: a token in CDK, the gateway's URL locally.
 */
export function settingsEnvironment(config: StageConfig, callbackBaseUrl: string): Record<string, string> {
  const s = config.settings;
  return {
    STARTING_MINUTES: String(s.startingMinutes),
    REPORT_INTERVAL_MINUTES: String(s.reportIntervalMinutes),
    REPORT_RETENTION_DAYS: String(s.reportRetentionDays),
    PROVIDER1_URL: s.provider1Url,
    PROVIDER2_URL: s.provider2Url,
    PROVIDER_WEIGHTS: formatProviderWeights(s.providerWeights),
    PROVIDER_TIMEOUT_MS: String(s.providerTimeoutMs),
    CALLBACK_BASE_URL: callbackBaseUrl,
    EMAIL_FROM: s.emailFrom,
    SQS_MAX_RECEIVE_COUNT: String(config.queues.maxReceiveCount),
    ...(config.queues.retryBackoffSeconds
      ? { SQS_RETRY_BACKOFF_SECONDS: String(config.queues.retryBackoffSeconds) }
      : {}),
  };
}

/** What every function of a service gets regardless of its access. */
export function baseEnvironment(config: StageConfig, serviceName: string): Record<string, string> {
  return {
    STAGE: config.name,
    POWERTOOLS_SERVICE_NAME: serviceName,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/** For functions with a route whose auth kind is `jwt`. */
export function jwtEnvironment(config: StageConfig): Record<string, string> {
  return {
    JWT_ISSUER: config.auth.issuer,
    JWT_AUDIENCE: config.auth.audience,
    JWT_JWKS_URL: config.auth.jwksUrl,
  };
}

/** `dispatch-send` → `DISPATCH_SEND`. */
export function upperSnake(logicalName: string): string {
  return logicalName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/** Env var holding a queue's URL for a function that sends to it. */
export const queueUrlVariable = (queue: string) => `QUEUE_URL_${upperSnake(queue)}`;

/** Env var holding an SSM parameter's full name for a function that reads it. */
export const parameterVariable = (parameter: string) => `PARAM_${upperSnake(parameter)}`;

/** Physical SQS name: `svc-<stage>-<queue>`; the DLQ is `<queue>-dlq`. */
export const physicalQueueName = (stage: string, queue: string) => `svc-${stage}-${queue}`;

export const deadLetterQueueName = (queue: string) => `${queue}-dlq`;

/** Full SSM name of a logical parameter: `/svc/<stage>/<name>` (created outside the stack). */
export const parameterName = (stage: string, parameter: string) => `/svc/${stage}/${parameter}`;
