import { createHash } from 'node:crypto';
import { BatchGetCommand, DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionFailureItem, dynamo, isConditionFailure } from './dynamo.js';
import { Throttled } from './errors.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import type { RouteLimit } from './routes.js';

/**
 * Abuse limits (SPEC §0) kept in the service table, so they hold across every Lambda instance.
 *
 * Three rules, each one conditional UpdateItem on one small item (never read-then-write):
 * - `window`: at most `limit` per aligned window (`ADD n :a` if `n <= limit − a`). A window of 86 400 s is
 *   a UTC day. Aligned windows allow up to 2 × limit across a boundary (the price of one write per request).
 * - `bucket`: a token bucket as GCRA — one number, the theoretical arrival time `tat`; a request passes
 *   while `tat − now ≤ (burst − 1) × interval`, and moves `tat` on by one interval.
 * - `sharded`: a window counter spread over `shards` items (random shard per take), each holding its share
 *   of the limit, so no single item takes every write (SPEC §8); the total can never pass the limit. Each
 *   shard is its own partition (`<pk>#s<shard>`, sort key `w#<window>`): DynamoDB's 1,000 WCU hold per
 *   partition key value, so shards that shared one key value (as sort keys) would share one limit.
 * A caller over a limit costs exactly one write that fails its condition (no read), except a full sharded
 * shard, which reads the other shards once (one BatchGetItem) to look for room before refusing; once every
 * shard is full, that instance refuses without any call until the window ends.
 *
 * A request that counts against several window limits at once (a login: per IP and per email) uses
 * `takeAll`: one consistent BatchGetItem of every counter first, so a client already over any of them is
 * refused with that one small read and no write; otherwise each is taken in order by its conditional write,
 * so racing requests still cannot pass a limit (the read only spares the refused ones their writes).
 */
export type LimitRule =
  | { kind: 'window'; limit: number; windowSeconds: number }
  | { kind: 'bucket'; ratePerSecond: number; burst: number }
  | { kind: 'sharded'; limit: number; windowSeconds: number; shards: number; alarmPercent?: number };

export interface LimitCheck {
  /** Table key prefix of the owning service, e.g. `$visits` (IAM LeadingKeys can grant it). */
  prefix: string;
  /** The limit's name (the stage setting). */
  setting: string;
  /** Who counts: an IP, a subject, a hashed email, a number; `stage` for stage-wide limits. */
  client: string;
  rule: LimitRule;
  /** How much this request uses (segments for the daily cap); default 1. */
  amount?: number;
}

export type LimitDecision =
  | { allowed: true }
  /** `setting`: which limit refused, when one decision covers several (peek). */
  | { allowed: false; retryAfterSeconds: number; setting?: string };

/** Port: where limit state lives. The DynamoDB adapter below keeps it in the service table with TTL. */
export interface LimitStore {
  take(check: LimitCheck): Promise<LimitDecision>;
  /**
   * Reads the current counts of window limits (one consistent BatchGetItem, no write): refused when any is
   * already too full for its amount, with the latest Retry-After of those; allowed otherwise (including a
   * counter the read could not return: the takes that follow decide).
   */
  peek(checks: readonly LimitCheck[]): Promise<LimitDecision>;
  /** Clears a window counter (a successful login clears the failed-login count). */
  reset(check: LimitCheck): Promise<void>;
  /** Gives back what a take counted (a login that turned out right is not a failure from its IP). */
  refund(check: LimitCheck): Promise<void>;
}

/** `$visits#ratelimit#<setting>#<client>`: always under the service's own partition key prefix. */
export const limitKeyPrefix = (prefix: string) => `${prefix}#ratelimit#`;

/** Personal data (an email) never becomes a key: a short digest stands in for it. */
export const limitClientDigest = (value: string) =>
  createHash('sha256').update(value).digest('base64url').slice(0, 22);

const SLACK_SECONDS = 60;

function windowOf(nowMs: number, windowSeconds: number) {
  const index = Math.floor(nowMs / 1000 / windowSeconds);
  const endsAt = (index + 1) * windowSeconds;
  return { index, endsAt, retryAfter: Math.max(1, Math.ceil(endsAt - nowMs / 1000)) };
}

/** Each shard's share of the limit; the shares add up to the limit exactly. */
export function shardCaps(limit: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => Math.floor(limit / shards) + (i < limit % shards ? 1 : 0));
}

export function dynamoLimitStore(
  now: () => number = Date.now,
  random: () => number = Math.random,
): LimitStore {
  /** Windows this instance saw completely full (sharded), so later takes cost nothing until they end. */
  const exhausted = new Map<string, number>();

  const pkOf = (check: LimitCheck) => `${limitKeyPrefix(check.prefix)}${check.setting}#${check.client}`;

  async function conditionalAdd(
    pk: string,
    sk: string,
    amount: number,
    cap: number,
    expiresAt: number,
  ): Promise<{ ok: true; n: number } | { ok: false }> {
    const { client, table } = dynamo();
    try {
      const out = await client.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk, sk },
          UpdateExpression: 'ADD n :a SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
          ExpressionAttributeValues: { ':a': amount, ':room': cap - amount, ':exp': expiresAt },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { ok: true, n: Number(out.Attributes?.n ?? amount) };
    } catch (error) {
      if (isConditionFailure(error)) return { ok: false };
      throw error;
    }
  }

  async function takeWindow(check: LimitCheck & { rule: { kind: 'window' } }): Promise<LimitDecision> {
    const amount = check.amount ?? 1;
    const w = windowOf(now(), check.rule.windowSeconds);
    if (amount > check.rule.limit) return { allowed: false, retryAfterSeconds: w.retryAfter };
    const result = await conditionalAdd(
      pkOf(check),
      `w#${w.index}`,
      amount,
      check.rule.limit,
      w.endsAt + SLACK_SECONDS,
    );
    return result.ok ? { allowed: true } : { allowed: false, retryAfterSeconds: w.retryAfter };
  }

  async function takeBucket(check: LimitCheck & { rule: { kind: 'bucket' } }): Promise<LimitDecision> {
    const { client, table } = dynamo();
    const key = { pk: pkOf(check), sk: 'bucket' };
    const interval = 1000 / check.rule.ratePerSecond;
    const slack = (check.rule.burst - 1) * interval;
    for (let attempt = 0; attempt < 4; attempt++) {
      const t = now();
      const expiresAt = Math.ceil((t + slack + interval) / 1000) + SLACK_SECONDS;
      try {
        // A busy bucket: room left while tat stays within burst of now.
        await client.send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'SET tat = tat + :i, expiresAt = :exp',
            ConditionExpression: 'tat BETWEEN :now AND :max',
            ExpressionAttributeValues: { ':i': interval, ':now': t, ':max': t + slack, ':exp': expiresAt },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { allowed: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const old = conditionFailureItem(error);
        const tat = old ? Number(old.tat) : Number.NaN;
        if (tat > t + slack) {
          // Retry-After from the clock now, not from `t`: on a loaded container `t` can be read long before
          // the write is answered, while other requests moved the bucket on with later clocks.
          const later = Math.max(t, now());
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((tat - later - slack) / 1000)) };
        }
      }
      try {
        // An idle (full) bucket, or none yet: start again from now.
        await client.send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'SET tat = :start, expiresAt = :exp',
            ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
            ExpressionAttributeValues: { ':start': t + interval, ':now': t, ':exp': expiresAt },
          }),
        );
        return { allowed: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Another request restarted it meanwhile: take from the busy bucket again.
      }
    }
    return { allowed: false, retryAfterSeconds: 1 };
  }

  async function takeSharded(check: LimitCheck & { rule: { kind: 'sharded' } }): Promise<LimitDecision> {
    const { rule } = check;
    const amount = check.amount ?? 1;
    const w = windowOf(now(), rule.windowSeconds);
    const pk = pkOf(check);
    const memo = `${pk}#${w.index}`;
    if ((exhausted.get(memo) ?? 0) > 0) return { allowed: false, retryAfterSeconds: w.retryAfter };
    const caps = shardCaps(rule.limit, rule.shards);
    const expiresAt = w.endsAt + SLACK_SECONDS;
    const pkAt = (shard: number) => `${pk}#s${shard}`;
    const sk = `w#${w.index}`;
    const accepted = (shard: number, n: number): LimitDecision => {
      const cap = caps[shard] ?? 1;
      // The alarm's source (a metric filter on this line): how full the shard that took it is.
      logger.info('limit usage', { limit_setting: check.setting, limit_fill_percent: (100 * n) / cap });
      return { allowed: true };
    };

    const first = Math.min(rule.shards - 1, Math.floor(random() * rule.shards));
    const tried = await conditionalAdd(pkAt(first), sk, amount, caps[first] ?? 0, expiresAt);
    if (tried.ok) return accepted(first, tried.n);

    // That shard is full: find the one with the most room (one read of every shard) and try it once.
    const { client, table } = dynamo();
    const out = await client.send(
      new BatchGetCommand({
        RequestItems: {
          [table]: {
            Keys: caps.map((_, shard) => ({ pk: pkAt(shard), sk })),
            ProjectionExpression: 'pk, n',
            ConsistentRead: true,
          },
        },
      }),
    );
    const used = new Map<string, number>();
    for (const item of out.Responses?.[table] ?? []) used.set(String(item.pk), Number(item.n ?? 0));
    let best = -1;
    let bestRoom = 0;
    caps.forEach((cap, shard) => {
      const room = cap - (used.get(pkAt(shard)) ?? 0);
      if (room > bestRoom) {
        best = shard;
        bestRoom = room;
      }
    });
    if (best < 0) {
      exhausted.clear();
      exhausted.set(memo, 1);
    }
    if (best < 0 || bestRoom < amount) return { allowed: false, retryAfterSeconds: w.retryAfter };
    const second = await conditionalAdd(pkAt(best), sk, amount, caps[best] ?? 0, expiresAt);
    if (second.ok) return accepted(best, second.n);
    return { allowed: false, retryAfterSeconds: 1 };
  }

  async function peek(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    const t = now();
    const keyed = checks.map((check) => {
      if (check.rule.kind !== 'window') throw new Error('only window limits can be peeked');
      const w = windowOf(t, check.rule.windowSeconds);
      return { check, rule: check.rule, w, pk: pkOf(check), sk: `w#${w.index}` };
    });
    if (keyed.length === 0) return { allowed: true };
    const { client, table } = dynamo();
    // BatchGetItem refuses a key twice in one request: each distinct counter once.
    const distinct = new Map(keyed.map(({ pk, sk }) => [`${pk}|${sk}`, { pk, sk }]));
    const keys = [...distinct.values()];
    const out = await client.send(
      new BatchGetCommand({
        RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'pk, sk, n', ConsistentRead: true } },
      }),
    );
    const used = new Map<string, number>();
    for (const item of out.Responses?.[table] ?? [])
      used.set(`${String(item.pk)}|${String(item.sk)}`, Number(item.n ?? 0));
    let retryAfter = 0;
    let refusedBy: string | undefined;
    for (const k of keyed) {
      const amount = k.check.amount ?? 1;
      const n = used.get(`${k.pk}|${k.sk}`) ?? 0;
      if ((amount > k.rule.limit || n > k.rule.limit - amount) && k.w.retryAfter > retryAfter) {
        retryAfter = k.w.retryAfter;
        refusedBy = k.check.setting;
      }
    }
    if (retryAfter === 0) return { allowed: true };
    return { allowed: false, retryAfterSeconds: retryAfter, ...(refusedBy ? { setting: refusedBy } : {}) };
  }

  return {
    peek,
    take(check) {
      switch (check.rule.kind) {
        case 'window':
          return takeWindow(check as LimitCheck & { rule: { kind: 'window' } });
        case 'bucket':
          return takeBucket(check as LimitCheck & { rule: { kind: 'bucket' } });
        case 'sharded':
          return takeSharded(check as LimitCheck & { rule: { kind: 'sharded' } });
      }
    },
    async reset(check) {
      if (check.rule.kind !== 'window') throw new Error('only window limits can be reset');
      const { client, table } = dynamo();
      const w = windowOf(now(), check.rule.windowSeconds);
      await client.send(
        new DeleteCommand({ TableName: table, Key: { pk: pkOf(check), sk: `w#${w.index}` } }),
      );
    },
    async refund(check) {
      if (check.rule.kind !== 'window') throw new Error('only window limits can be refunded');
      const { client, table } = dynamo();
      const w = windowOf(now(), check.rule.windowSeconds);
      await client
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: pkOf(check), sk: `w#${w.index}` },
            UpdateExpression: 'ADD n :minus',
            ConditionExpression: 'n >= :a',
            ExpressionAttributeValues: { ':minus': -(check.amount ?? 1), ':a': check.amount ?? 1 },
          }),
        )
        .catch((error: unknown) => {
          // Already cleared (a reset, a new window): nothing to give back.
          if (!isConditionFailure(error)) throw error;
        });
    },
  };
}

/** What a route's implementation uses: its declared limits, by setting name, answering 429 past them. */
export interface RouteLimiter {
  /** Counts one request (or `amount`) for `client`; throws Throttled (429 + Retry-After) past the limit. */
  take(setting: string, client: string, amount?: number): Promise<void>;
  /**
   * Counts one request against several window limits: one read of them all first, so a client already
   * over any of them is refused (429) at the cost of that read alone; otherwise each is taken in order.
   */
  takeAll(takes: readonly { setting: string; client: string }[]): Promise<void>;
  reset(setting: string, client: string): Promise<void>;
  refund(setting: string, client: string): Promise<void>;
}

interface LimitsConfig {
  prefix: string;
  rules: Record<string, LimitRule>;
}

/** RATE_LIMITS as the CDK app and the local runtime set it (`limitsEnvironment` in stage-config.ts). */
export function limitsFromEnv(raw = process.env.RATE_LIMITS): LimitsConfig | undefined {
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as LimitsConfig;
  if (typeof parsed.prefix !== 'string' || typeof parsed.rules !== 'object' || parsed.rules === null)
    throw new Error('RATE_LIMITS is malformed');
  return parsed;
}

export const THROTTLED_MESSAGE = 'Too many requests, retry later.';

/**
 * The limiter a route gets: only the limits its table entry declares, each from RATE_LIMITS. A route that
 * declares a limit its function was not given settings for fails at cold start, not at its first request.
 */
export function routeLimiter(
  declared: readonly RouteLimit[],
  store: LimitStore,
  config = limitsFromEnv(),
): RouteLimiter {
  const ruleOf = (setting: string): { prefix: string; rule: LimitRule } => {
    if (!declared.some((l) => l.setting === setting))
      throw new Error(`limit "${setting}" is not declared by this route`);
    const rule = config?.rules[setting];
    if (!config || !rule) throw new Error(`RATE_LIMITS has no "${setting}"`);
    return { prefix: config.prefix, rule };
  };
  for (const limit of declared) ruleOf(limit.setting);
  const checkOf = (setting: string, client: string, amount?: number): LimitCheck => ({
    ...ruleOf(setting),
    setting,
    client,
    ...(amount !== undefined ? { amount } : {}),
  });
  /** Every 429 a limit answers is counted by the limit's name (never by who hit it). */
  const refuse = (setting: string, retryAfterSeconds: number): never => {
    metrics.count('LimitHits', { limit: setting });
    throw new Throttled(THROTTLED_MESSAGE, retryAfterSeconds);
  };
  return {
    async take(setting, client, amount) {
      const decision = await store.take(checkOf(setting, client, amount));
      if (!decision.allowed) refuse(setting, decision.retryAfterSeconds);
    },
    async takeAll(takes) {
      const checks = takes.map(({ setting, client }) => checkOf(setting, client));
      const early = await store.peek(checks);
      if (!early.allowed) refuse(early.setting ?? checks[0]?.setting ?? 'unknown', early.retryAfterSeconds);
      for (const check of checks) {
        const decision = await store.take(check);
        if (!decision.allowed) refuse(check.setting, decision.retryAfterSeconds);
      }
    },
    reset: (setting, client) => store.reset(checkOf(setting, client)),
    refund: (setting, client) => store.refund(checkOf(setting, client)),
  };
}

/** A limiter for routes that declare none: any use is a programming error. */
export const noLimits: RouteLimiter = {
  take: (setting) => Promise.reject(new Error(`limit "${setting}" is not declared by this route`)),
  takeAll: (takes) => Promise.reject(new Error(`limit "${takes[0]?.setting}" is not declared by this route`)),
  reset: (setting) => Promise.reject(new Error(`limit "${setting}" is not declared by this route`)),
  refund: (setting) => Promise.reject(new Error(`limit "${setting}" is not declared by this route`)),
};
