import { intFromEnv, loadConfig } from '@svc/platform';
import * as v from 'valibot';
import { DEFAULT_ALLOWED_COUNTRIES } from './phone.js';

const nonEmpty = v.pipe(v.string(), v.minLength(1));
const positiveInt = (fallback: number) => v.pipe(intFromEnv(fallback), v.minValue(1));

export interface ProviderSetting {
  name: string;
  url: string;
  weight: number;
}

/** `provider1:30,provider2:70` → [{name, weight}], rejecting malformed entries. */
export function parseWeights(raw: string): { name: string; weight: number }[] {
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^([a-z][a-z0-9_-]*):(\d{1,6})$/i.exec(part);
      if (!match?.[1] || match[2] === undefined) throw new Error(`bad provider weight "${part}"`);
      return { name: match[1], weight: Number(match[2]) };
    });
  if (entries.length === 0) throw new Error('no providers');
  if (new Set(entries.map((e) => e.name)).size !== entries.length)
    throw new Error('a provider is listed twice');
  if (entries.every((e) => e.weight === 0)) throw new Error('every weight is 0');
  return entries;
}

/** The stage setting that also allows `http://127.0.0.1:<port>` callback URLs (the local stage only). */
const localHttpFlag = v.pipe(
  v.optional(v.picklist(['true', 'false']), 'false'),
  v.transform((flag) => flag === 'true'),
);

const COUNTRY = /^[A-Z]{2}$/;

const ApiEnv = v.object({
  QUEUE_URL_DISPATCH_SEND: nonEmpty,
  STATUS_CALLBACK_LOCAL_HTTP: localHttpFlag,
  /** ISO 3166-1 alpha-2 codes, comma-separated (`US,CA`): the destinations this stage sends to. */
  SMS_ALLOWED_COUNTRIES: v.pipe(
    v.optional(v.string(), DEFAULT_ALLOWED_COUNTRIES.join(',')),
    v.transform((s) => s.split(',').map((c) => c.trim().toUpperCase())),
    v.check((codes) => codes.every((c) => COUNTRY.test(c)), 'must list ISO 3166 two-letter country codes'),
    v.transform((codes): ReadonlySet<string> => new Set(codes)),
  ),
});
export type ApiConfig = v.InferOutput<typeof ApiEnv>;

const CallbackEnv = v.object({
  PARAM_DISPATCH_CALLBACK_SECRET: nonEmpty,
  QUEUE_URL_DISPATCH_STATUS_CALLBACKS: nonEmpty,
});
export type CallbackConfig = v.InferOutput<typeof CallbackEnv>;

const SenderEnv = v.object({
  PROVIDER_WEIGHTS: v.pipe(
    v.optional(v.string(), 'provider1:30,provider2:70'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return parseWeights(dataset.value);
      } catch (error) {
        addIssue({ message: (error as Error).message });
        return NEVER;
      }
    }),
  ),
  PROVIDER_TIMEOUT_MS: positiveInt(3000),
  CALLBACK_BASE_URL: v.pipe(v.string(), v.url()),
  PARAM_DISPATCH_CALLBACK_SECRET: nonEmpty,
  SQS_MAX_RECEIVE_COUNT: positiveInt(3),
  /** The send queue, to postpone a failed record; and the first retry delay (unset: no backoff). */
  SQS_QUEUE_URL: v.optional(v.pipe(v.string(), v.url())),
  SQS_RETRY_BACKOFF_SECONDS: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/), v.transform(Number))),
  /** Consecutive failures that open a provider's breaker, and how long it stays open. */
  BREAKER_FAILURE_THRESHOLD: positiveInt(3),
  BREAKER_OPEN_SECONDS: positiveInt(30),
  QUEUE_URL_DISPATCH_STATUS_CALLBACKS: nonEmpty,
});

const StatusCallbackEnv = v.object({
  PARAM_DISPATCH_STATUS_CALLBACK_SECRET: nonEmpty,
  QUEUE_URL_DISPATCH_STATUS_CALLBACKS: nonEmpty,
  STATUS_CALLBACK_LOCAL_HTTP: localHttpFlag,
  /** SPEC §5: a receiver that has not answered within 5 s has failed this attempt. */
  STATUS_CALLBACK_TIMEOUT_MS: positiveInt(5000),
  SQS_MAX_RECEIVE_COUNT: positiveInt(3),
  SQS_QUEUE_URL: v.optional(v.pipe(v.string(), v.url())),
  SQS_RETRY_BACKOFF_SECONDS: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/), v.transform(Number))),
  /** Consecutive failures of one receiver (scheme, host, port) that stop calls to it, and for how long. */
  RECEIVER_BREAKER_FAILURE_THRESHOLD: positiveInt(5),
  RECEIVER_BREAKER_OPEN_SECONDS: positiveInt(60),
});

export interface StatusCallbackConfig {
  secretParameter: string;
  queueUrl: string;
  allowLocalHttp: boolean;
  timeoutMs: number;
  maxReceiveCount: number;
  breaker: { failureThreshold: number; openMs: number };
  /** Exponential backoff (with jitter) of failed callbacks; absent where the visibility timeout is the delay. */
  backoff?: { queueUrl: string; baseSeconds: number };
}

export function loadStatusCallbackConfig(
  env: Record<string, string | undefined> = process.env,
): StatusCallbackConfig {
  const c = loadConfig(StatusCallbackEnv, env);
  return {
    secretParameter: c.PARAM_DISPATCH_STATUS_CALLBACK_SECRET,
    queueUrl: c.QUEUE_URL_DISPATCH_STATUS_CALLBACKS,
    allowLocalHttp: c.STATUS_CALLBACK_LOCAL_HTTP,
    timeoutMs: c.STATUS_CALLBACK_TIMEOUT_MS,
    maxReceiveCount: c.SQS_MAX_RECEIVE_COUNT,
    breaker: {
      failureThreshold: c.RECEIVER_BREAKER_FAILURE_THRESHOLD,
      openMs: c.RECEIVER_BREAKER_OPEN_SECONDS * 1000,
    },
    ...(c.SQS_QUEUE_URL && c.SQS_RETRY_BACKOFF_SECONDS
      ? { backoff: { queueUrl: c.SQS_QUEUE_URL, baseSeconds: c.SQS_RETRY_BACKOFF_SECONDS } }
      : {}),
  };
}

export interface SenderConfig {
  providers: ProviderSetting[];
  timeoutMs: number;
  callbackBaseUrl: string;
  callbackSecretParameter: string;
  maxReceiveCount: number;
  breaker: { failureThreshold: number; openMs: number };
  /** Where status changes are announced to the status-callback consumer. */
  statusCallbacksQueueUrl: string;
  /** Exponential backoff of failed sends; absent where the queue's visibility timeout is the delay. */
  backoff?: { queueUrl: string; baseSeconds: number };
  /** The send queue itself: where an acceptance the table refused is put (see sender.ts `keepAcceptance`). */
  sendQueueUrl?: string;
}

/** Every provider named in PROVIDER_WEIGHTS needs `<NAME>_URL` (PROVIDER1_URL for provider1). */
export function loadSenderConfig(env: Record<string, string | undefined> = process.env): SenderConfig {
  const base = loadConfig(SenderEnv, env);
  const providers = base.PROVIDER_WEIGHTS.map(({ name, weight }) => {
    const variable = `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
    const url = env[variable];
    if (!url || !URL.canParse(url)) throw new Error(`Invalid configuration:\n  ${variable}: must be a URL`);
    return { name, url, weight };
  });
  return {
    providers,
    timeoutMs: base.PROVIDER_TIMEOUT_MS,
    callbackBaseUrl: base.CALLBACK_BASE_URL.replace(/\/+$/, ''),
    callbackSecretParameter: base.PARAM_DISPATCH_CALLBACK_SECRET,
    maxReceiveCount: base.SQS_MAX_RECEIVE_COUNT,
    breaker: { failureThreshold: base.BREAKER_FAILURE_THRESHOLD, openMs: base.BREAKER_OPEN_SECONDS * 1000 },
    statusCallbacksQueueUrl: base.QUEUE_URL_DISPATCH_STATUS_CALLBACKS,
    ...(base.SQS_QUEUE_URL && base.SQS_RETRY_BACKOFF_SECONDS
      ? { backoff: { queueUrl: base.SQS_QUEUE_URL, baseSeconds: base.SQS_RETRY_BACKOFF_SECONDS } }
      : {}),
    ...(base.SQS_QUEUE_URL ? { sendQueueUrl: base.SQS_QUEUE_URL } : {}),
  };
}

export const loadApiConfig = (env: Record<string, string | undefined> = process.env): ApiConfig =>
  loadConfig(ApiEnv, env);

export const loadCallbackConfig = (env: Record<string, string | undefined> = process.env): CallbackConfig =>
  loadConfig(CallbackEnv, env);
