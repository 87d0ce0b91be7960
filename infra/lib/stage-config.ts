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
/** `ScalingConfig.MaximumConcurrency` of an SQS event source: AWS accepts 2 to 1000. */
const QueueConcurrency = v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(1000));
const Url = v.pipe(v.string(), v.url());

/** At most `limit` per aligned window of `windowSeconds` (a UTC day for 86 400). */
const WindowLimit = v.object({
  kind: v.literal('window'),
  limit: PositiveInt,
  windowSeconds: v.pipe(PositiveInt, v.maxValue(86_400)),
});
/** A token bucket: `ratePerSecond` sustained, up to `burst` at once. */
const BucketLimit = v.object({
  kind: v.literal('bucket'),
  ratePerSecond: PositiveInt,
  burst: PositiveInt,
});
/** A window counter written to `shards` items (no hot key), with an alarm at `alarmPercent`. */
const ShardedLimit = v.object({
  kind: v.literal('sharded'),
  limit: PositiveInt,
  windowSeconds: v.pipe(PositiveInt, v.maxValue(86_400)),
  shards: v.pipe(PositiveInt, v.maxValue(100)),
  alarmPercent: v.pipe(PositiveInt, v.maxValue(100)),
});

/**
 * Abuse limits (SPEC §0, §1, §5), by the name a route table declares (`HttpRoute.limits`). Each function
 * gets only the limits its route declares (RATE_LIMITS); the README's "Abuse limits" lists them.
 */
export const LimitsSchema = v.object({
  loginFailuresPerEmail: WindowLimit,
  loginFailuresPerIp: WindowLimit,
  registrationsPerIp: WindowLimit,
  messagesPerDestination: WindowLimit,
  messagesPerCaller: BucketLimit,
  dailySegments: v.pipe(
    ShardedLimit,
    v.check((l) => l.shards <= l.limit, 'dailySegments needs at least one segment per shard'),
  ),
});
export type Limits = v.InferOutput<typeof LimitsSchema>;
export type LimitName = keyof Limits;

/** The numbers SPEC §1 and §5 give (every preset's default). */
export const SPEC_LIMITS: Limits = {
  loginFailuresPerEmail: { kind: 'window', limit: 5, windowSeconds: 15 * 60 },
  loginFailuresPerIp: { kind: 'window', limit: 100, windowSeconds: 15 * 60 },
  registrationsPerIp: { kind: 'window', limit: 20, windowSeconds: 3600 },
  messagesPerDestination: { kind: 'window', limit: 5, windowSeconds: 3600 },
  messagesPerCaller: { kind: 'bucket', ratePerSecond: 20, burst: 200 },
  // 20 shards: each takes a twentieth of the sends (0.05 WCU per send), so the stage-wide counter reaches a
  // partition's 1,000 WCU at 20,000 sends/s; 10 reached it at exactly SPEC §8's 10,000, with no headroom.
  dailySegments: { kind: 'sharded', limit: 10_000, windowSeconds: 86_400, shards: 20, alarmPercent: 80 },
};

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
  /**
   * X-Ray subsegments inside the functions (Powertools Tracer: SDK calls and outbound HTTP, annotated with
   * the request id; README "Observability" and Decisions). Off or absent: the Tracer is never loaded. The
   * Lambda service's own segments (active tracing) are on in every stage either way.
   */
  tracing: v.optional(v.boolean()),
  api: v.object({
    throttlingRateLimit: PositiveInt,
    throttlingBurstLimit: PositiveInt,
    /**
     * Edge protection: per-route throttles (HTTP API stage RouteSettings) for expensive routes, keyed by
     * route key (`POST /api/auth/session`). They cap what the whole world may send to that route (not per
     * client), so a flood of logins cannot take the stage's shared bucket or the account's Lambda
     * concurrency from every other route. A key naming no route fails the synth.
     */
    routeThrottles: v.optional(
      v.record(
        v.pipe(
          v.string(),
          v.regex(/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/, 'a route key such as "POST /path"'),
        ),
        v.object({ rateLimit: PositiveInt, burstLimit: PositiveInt }),
      ),
    ),
  }),
  /**
   * Edge protection in front of the HTTP API (which cannot take a WAF web ACL itself): a CloudFront
   * distribution, with a WAF web ACL holding a rate-based rule per client IP. Off by default.
   */
  edge: v.object({
    cloudFront: v.boolean(),
    /** Requests one IP may make in any 5 minutes before WAF blocks it (WAF's floor is 10). */
    wafRateLimitPer5Minutes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10))),
    /**
     * An existing CLOUDFRONT-scope web ACL (it lives in us-east-1) to attach instead of creating one; needed
     * when the stack is in another region.
     */
    webAclArn: v.optional(
      v.pipe(v.string(), v.regex(/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\//)),
    ),
  }),
  auth: v.object({
    issuer: Url,
    audience: v.pipe(v.string(), v.minLength(1)),
    jwksUrl: Url,
    /** Longest JWT lifetime (`exp − iat`, seconds) accepted from the issuer; longer-lived tokens are 401. */
    maxTokenLifetimeSeconds: v.pipe(PositiveInt, v.maxValue(31 * 86_400)),
  }),
  queues: v.object({
    /** Locally: how soon a failed message is visible again. In AWS the stack raises it to ≥ 6 × the consumer timeout. */
    visibilityTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(43_200))),
    maxReceiveCount: v.pipe(PositiveInt, v.maxValue(1000)),
    /**
     * First retry delay for consumers that back off (dispatch-send): doubles with each attempt, capped at
     * 15 minutes. Unset: a failed message comes back after the queue's visibility timeout.
     */
    retryBackoffSeconds: v.optional(v.pipe(PositiveInt, v.maxValue(900))),
    /**
     * Most concurrent invocations each queue's consumer may take (its event source's maximum concurrency),
     * so a redrive or a fan-out cannot starve the API functions or other stages of the account.
     */
    maxConcurrency: QueueConcurrency,
    /** Per logical queue name; a name no service declares fails the synth. */
    maxConcurrencyByQueue: v.optional(v.record(v.string(), QueueConcurrency)),
  }),
  settings: v.object({
    startingMinutes: v.pipe(v.number(), v.integer(), v.minValue(0)),
    /**
     * visits: scrypt cost of new password hashes as log2(N), r=8, p=1. 17 (OWASP's minimum, 128 MiB) in
     * every deployed preset; the local preset uses 14 so tests that register many users stay fast.
     */
    passwordScryptLog2N: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(20)),
    reportIntervalMinutes: PositiveInt,
    /**
     * tasks (SPEC §2): every webhook must be signed. A secret that cannot be read is then 503, never an
     * unsigned delivery accepted; off, a stage without a secret takes unsigned webhooks.
     */
    webhookSignatureRequired: v.boolean(),
    /** How long each task webhook delivery stays in the task's audit trail (DynamoDB TTL). */
    taskAuditRetentionDays: v.pipe(PositiveInt, v.maxValue(3650)),
    /** Days a stored task report is kept: the index items' TTL and the bucket's expiration rule. */
    reportRetentionDays: v.pipe(PositiveInt, v.maxValue(3650)),
    provider1Url: Url,
    provider2Url: Url,
    providerWeights: v.pipe(
      v.record(v.pipe(v.string(), v.regex(/^[a-z0-9]+$/)), v.pipe(v.number(), v.integer(), v.minValue(0))),
      v.check((w) => Object.values(w).some((n) => n > 0), 'at least one provider needs a weight above 0'),
    ),
    providerTimeoutMs: PositiveInt,
    /** dispatch: ISO 3166-1 alpha-2 countries SMS may go to (SPEC §5); any other destination is 422. */
    smsAllowedCountries: v.pipe(
      v.array(v.pipe(v.string(), v.regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as "US"'))),
      v.minLength(1, 'at least one destination country'),
    ),
    emailFrom: v.pipe(v.string(), v.email()),
    /**
     * dispatch `status_callback_url`: besides https to public addresses (SPEC §0), also accept
     * `http://127.0.0.1:<port>` — the local stage only, for a receiver on the laptop.
     */
    statusCallbackLocalHttp: v.optional(v.boolean()),
  }),
  limits: LimitsSchema,
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
  tracing: true,
  api: {
    throttlingRateLimit: 50,
    throttlingBurstLimit: 100,
    routeThrottles: {
      'POST /api/auth/session': { rateLimit: 10, burstLimit: 20 },
      'POST /api/auth/registration': { rateLimit: 5, burstLimit: 10 },
    },
  },
  edge: { cloudFront: false },
  auth: {
    issuer: 'https://auth.dev.example.com/',
    audience: 'https://api.dev.example.com',
    jwksUrl: 'https://auth.dev.example.com/.well-known/jwks.json',
    maxTokenLifetimeSeconds: 86_400,
  },
  queues: {
    maxReceiveCount: 5,
    retryBackoffSeconds: 30,
    maxConcurrency: 5,
    // Slack takes about one message per second per webhook: the fewest pollers AWS allows.
    maxConcurrencyByQueue: { 'assistance-slack': 2 },
  },
  settings: {
    startingMinutes: 120,
    passwordScryptLog2N: 17,
    reportIntervalMinutes: 60,
    webhookSignatureRequired: false,
    taskAuditRetentionDays: 30,
    reportRetentionDays: 30,
    provider1Url: 'https://provider1.dev.example.com/sms',
    provider2Url: 'https://provider2.dev.example.com/sms',
    providerWeights: { provider1: 30, provider2: 70 },
    providerTimeoutMs: 3000,
    smsAllowedCountries: ['US', 'CA'],
    emailFrom: 'no-reply@dev.example.com',
  },
  limits: SPEC_LIMITS,
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
  api: {
    throttlingRateLimit: 500,
    throttlingBurstLimit: 1000,
    // scrypt at 2^17 costs ~1.3 s of a 1 GB Lambda per login (README Decisions): 50/s is ~65 busy instances.
    routeThrottles: {
      'POST /api/auth/session': { rateLimit: 50, burstLimit: 100 },
      'POST /api/auth/registration': { rateLimit: 20, burstLimit: 40 },
    },
  },
  auth: {
    issuer: 'https://auth.example.com/',
    audience: 'https://api.example.com',
    jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
    maxTokenLifetimeSeconds: 86_400,
  },
  queues: {
    maxReceiveCount: 8,
    retryBackoffSeconds: 30,
    maxConcurrency: 10,
    maxConcurrencyByQueue: { 'assistance-slack': 2 },
  },
  settings: {
    ...dev.settings,
    webhookSignatureRequired: true,
    taskAuditRetentionDays: 365,
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
    maxTokenLifetimeSeconds: 86_400,
  },
  queues: {
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 3,
    maxConcurrency: dev.queues.maxConcurrency,
    maxConcurrencyByQueue: dev.queues.maxConcurrencyByQueue,
  },
  settings: {
    ...dev.settings,
    passwordScryptLog2N: 14,
    reportIntervalMinutes: 1,
    reportRetentionDays: 90,
    provider1Url: 'http://127.0.0.1:3000/__local/providers/provider1/sms',
    provider2Url: 'http://127.0.0.1:3000/__local/providers/provider2/sms',
    providerTimeoutMs: 1000,
    emailFrom: 'no-reply@example.com',
    statusCallbackLocalHttp: true,
  },
};

export const presets = { dev, prod, local } as const satisfies Record<string, StageConfig>;

export type PresetName = keyof typeof presets;

/** Section-wise overrides (e.g. an alarm email or account from CDK context). */
export type StageOverrides = Partial<
  Omit<StageConfig, 'api' | 'edge' | 'auth' | 'queues' | 'settings' | 'limits' | 'functions'> & {
    api: Partial<StageConfig['api']>;
    edge: Partial<StageConfig['edge']>;
    auth: Partial<StageConfig['auth']>;
    queues: Partial<StageConfig['queues']>;
    settings: Partial<StageConfig['settings']>;
    /** Whole limits replaced by name (e.g. a test runtime's larger numbers). */
    limits: Partial<Limits>;
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
    edge: { ...base.edge, ...overrides.edge },
    auth: { ...base.auth, ...overrides.auth },
    queues: { ...base.queues, ...overrides.queues },
    settings: { ...base.settings, ...overrides.settings },
    limits: { ...base.limits, ...overrides.limits },
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
    PASSWORD_SCRYPT_LOG2N: String(s.passwordScryptLog2N),
    REPORT_INTERVAL_MINUTES: String(s.reportIntervalMinutes),
    WEBHOOK_SIGNATURE_REQUIRED: String(s.webhookSignatureRequired),
    TASK_AUDIT_RETENTION_DAYS: String(s.taskAuditRetentionDays),
    REPORT_RETENTION_DAYS: String(s.reportRetentionDays),
    PROVIDER1_URL: s.provider1Url,
    PROVIDER2_URL: s.provider2Url,
    PROVIDER_WEIGHTS: formatProviderWeights(s.providerWeights),
    PROVIDER_TIMEOUT_MS: String(s.providerTimeoutMs),
    SMS_ALLOWED_COUNTRIES: s.smsAllowedCountries.join(','),
    CALLBACK_BASE_URL: callbackBaseUrl,
    EMAIL_FROM: s.emailFrom,
    SQS_MAX_RECEIVE_COUNT: String(config.queues.maxReceiveCount),
    ...(s.statusCallbackLocalHttp ? { STATUS_CALLBACK_LOCAL_HTTP: 'true' } : {}),
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
    POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(config),
    POWERTOOLS_TRACE_ENABLED: String(config.tracing ?? false),
  };
}

/** The CloudWatch namespace of the business metrics (EMF) of one stage: `Svc/<stage>`, so stages never mix. */
export const metricsNamespace = (config: Pick<StageConfig, 'name'>) => `Svc/${config.name}`;

/**
 * The limits a route declares (`HttpRoute.limits`), as RATE_LIMITS: the settings plus the key prefix its
 * limiter items use (`$<service>#ratelimit#…`, under the service's own partition key prefix). An unknown
 * name fails here, at synth and at local start alike.
 */
export function limitsEnvironment(
  config: StageConfig,
  serviceName: string,
  declared: readonly { setting: string }[] | undefined,
): Record<string, string> {
  if (!declared || declared.length === 0) return {};
  const rules: Record<string, Limits[LimitName]> = {};
  for (const { setting } of declared) {
    if (!Object.hasOwn(config.limits, setting)) throw new Error(`unknown limit "${setting}"`);
    rules[setting] = config.limits[setting as LimitName];
  }
  return { RATE_LIMITS: JSON.stringify({ prefix: `$${serviceName}`, rules }) };
}

/** For functions with a route whose auth kind is `jwt`. */
export function jwtEnvironment(config: StageConfig): Record<string, string> {
  return {
    JWT_ISSUER: config.auth.issuer,
    JWT_AUDIENCE: config.auth.audience,
    JWT_JWKS_URL: config.auth.jwksUrl,
    JWT_MAX_LIFETIME_SECONDS: String(config.auth.maxTokenLifetimeSeconds),
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
