import { intFromEnv, loadConfig } from '@svc/platform';
import * as v from 'valibot';
import { CHANNELS } from './channels/index.js';

const nonEmpty = v.pipe(v.string(), v.minLength(1));

/** `assistance-slack` → `QUEUE_URL_ASSISTANCE_SLACK`, the variable infra sets for `sendsTo`. */
export const queueUrlVariable = (queue: string) =>
  `QUEUE_URL_${queue.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;

/** Every channel's queue URL, keyed by channel type (a new channel needs no change here). */
function queueUrlsFrom(env: Record<string, string | undefined>): Record<string, string> {
  const schema = v.object(Object.fromEntries(CHANNELS.map((c) => [queueUrlVariable(c.queue), nonEmpty])));
  const parsed = loadConfig(schema, env) as Record<string, string>;
  return Object.fromEntries(CHANNELS.map((c) => [c.type, parsed[queueUrlVariable(c.queue)] as string]));
}

export interface RequestConfig {
  rulesParameter: string;
  queueUrls: Record<string, string>;
}

/** POST /assistance: where the rules live and every channel queue it may hand a request to. */
export function loadRequestConfig(env: Record<string, string | undefined> = process.env): RequestConfig {
  const own = loadConfig(v.object({ PARAM_ASSISTANCE_ROUTING_RULES: nonEmpty }), env);
  return { rulesParameter: own.PARAM_ASSISTANCE_ROUTING_RULES, queueUrls: queueUrlsFrom(env) };
}

export interface DeliveryConfig {
  queueUrls: Record<string, string>;
  /** The queue's redrive maxReceiveCount: the receive that is the last attempt. */
  maxReceiveCount: number;
}

const DeliveryEnv = v.object({ SQS_MAX_RECEIVE_COUNT: v.pipe(intFromEnv(3), v.minValue(1)) });

/** Channel consumers: every queue (own for visibility changes, others for fallbacks) and the retry budget. */
export function loadDeliveryConfig(env: Record<string, string | undefined> = process.env): DeliveryConfig {
  const own = loadConfig(DeliveryEnv, env);
  return { queueUrls: queueUrlsFrom(env), maxReceiveCount: own.SQS_MAX_RECEIVE_COUNT };
}

export const loadSlackConfig = (env: Record<string, string | undefined> = process.env) =>
  loadConfig(v.object({ PARAM_ASSISTANCE_SLACK_WEBHOOK_URL: nonEmpty }), env);

export const loadEmailConfig = (env: Record<string, string | undefined> = process.env) =>
  loadConfig(v.object({ EMAIL_FROM: v.pipe(v.string(), v.email()) }), env);
