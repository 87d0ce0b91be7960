// The abuse limits the twins of the limited routes take, bare: the same items and conditional writes as
// packages/platform/src/rate-limit.ts (`<prefix>#ratelimit#<setting>#<client>`, TTL `expiresAt`), the
// settings from the same RATE_LIMITS variable. Returns the 429's Retry-After, or undefined when it passes.
import { createHash } from 'node:crypto';
import { BatchGetCommand, DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';

type Rule =
  | { kind: 'window'; limit: number; windowSeconds: number }
  | { kind: 'bucket'; ratePerSecond: number; burst: number }
  | { kind: 'sharded'; limit: number; windowSeconds: number; shards: number };

const config = JSON.parse(process.env.RATE_LIMITS ?? '{"prefix":"","rules":{}}') as {
  prefix: string;
  rules: Record<string, Rule>;
};
const pkOf = (setting: string, client: string) => `${config.prefix}#ratelimit#${setting}#${client}`;
const failed = (error: unknown) => (error as { name?: string }).name === 'ConditionalCheckFailedException';

export const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

function windowOf(rule: { windowSeconds: number }) {
  const index = Math.floor(Date.now() / 1000 / rule.windowSeconds);
  const endsAt = (index + 1) * rule.windowSeconds;
  return { index, endsAt, retryAfter: Math.max(1, Math.ceil(endsAt - Date.now() / 1000)) };
}

async function add(pk: string, sk: string, amount: number, cap: number, expiresAt: number): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk, sk },
        UpdateExpression: 'ADD n :a SET expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
        ExpressionAttributeValues: { ':a': amount, ':room': cap - amount, ':exp': expiresAt },
      }),
    );
    return true;
  } catch (error) {
    if (failed(error)) return false;
    throw error;
  }
}

export async function take(setting: string, client: string, amount = 1): Promise<number | undefined> {
  const rule = config.rules[setting];
  if (!rule) throw new Error(`RATE_LIMITS has no ${setting}`);
  if (rule.kind === 'window') {
    const w = windowOf(rule);
    const ok = await add(pkOf(setting, client), `w#${w.index}`, amount, rule.limit, w.endsAt + 60);
    return ok ? undefined : w.retryAfter;
  }
  if (rule.kind === 'sharded') {
    // The common case only (a shard with room); the real one looks for another shard when it is full.
    const w = windowOf(rule);
    const shard = Math.floor(Math.random() * rule.shards);
    const cap = Math.floor(rule.limit / rule.shards) + (shard < rule.limit % rule.shards ? 1 : 0);
    const ok = await add(`${pkOf(setting, client)}#s${shard}`, `w#${w.index}`, amount, cap, w.endsAt + 60);
    return ok ? undefined : w.retryAfter;
  }
  const interval = 1000 / rule.ratePerSecond;
  const slack = (rule.burst - 1) * interval;
  const now = Date.now();
  const Key = { pk: pkOf(setting, client), sk: 'bucket' };
  const expiresAt = Math.ceil((now + slack + interval) / 1000) + 60;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key,
        UpdateExpression: 'SET tat = tat + :i, expiresAt = :exp',
        ConditionExpression: 'tat BETWEEN :now AND :max',
        ExpressionAttributeValues: { ':i': interval, ':now': now, ':max': now + slack, ':exp': expiresAt },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return undefined;
  } catch (error) {
    if (!failed(error)) throw error;
    const tat = Number((error as { Item?: { tat?: { N?: string } } }).Item?.tat?.N ?? Number.NaN);
    if (tat > now + slack) return Math.max(1, Math.ceil((tat - now - slack) / 1000));
  }
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key,
      UpdateExpression: 'SET tat = :start, expiresAt = :exp',
      ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
      ExpressionAttributeValues: { ':start': now + interval, ':now': now, ':exp': expiresAt },
    }),
  );
  return undefined;
}

/**
 * Several window limits at once (a login): one consistent BatchGetItem of every counter, refused with no
 * write when any is already full; otherwise each taken in order.
 */
export async function takeAll(takes: [setting: string, client: string][]): Promise<number | undefined> {
  const counters = takes.map(([setting, client]) => {
    const rule = config.rules[setting] as { limit: number; windowSeconds: number };
    const w = windowOf(rule);
    return { rule, w, pk: pkOf(setting, client), sk: `w#${w.index}` };
  });
  const out = await doc.send(
    new BatchGetCommand({
      RequestItems: {
        [TABLE]: {
          Keys: counters.map(({ pk, sk }) => ({ pk, sk })),
          ProjectionExpression: 'pk, sk, n',
          ConsistentRead: true,
        },
      },
    }),
  );
  const used = new Map((out.Responses?.[TABLE] ?? []).map((i) => [`${i.pk}|${i.sk}`, Number(i.n ?? 0)]));
  const full = counters.filter((c) => (used.get(`${c.pk}|${c.sk}`) ?? 0) >= c.rule.limit);
  if (full.length > 0) return Math.max(...full.map((c) => c.w.retryAfter));
  for (const [setting, client] of takes) {
    const wait = await take(setting, client);
    if (wait !== undefined) return wait;
  }
  return undefined;
}

/** A successful login: the email's failures cleared, the IP's attempt given back. */
export async function clearAndRefund(
  resetSetting: string,
  resetClient: string,
  refundSetting: string,
  refundClient: string,
) {
  const reset = config.rules[resetSetting] as { windowSeconds: number };
  const refund = config.rules[refundSetting] as { windowSeconds: number };
  await Promise.all([
    doc.send(
      new DeleteCommand({
        TableName: TABLE,
        Key: { pk: pkOf(resetSetting, resetClient), sk: `w#${windowOf(reset).index}` },
      }),
    ),
    doc
      .send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { pk: pkOf(refundSetting, refundClient), sk: `w#${windowOf(refund).index}` },
          UpdateExpression: 'ADD n :minus',
          ConditionExpression: 'n >= :one',
          ExpressionAttributeValues: { ':minus': -1, ':one': 1 },
        }),
      )
      .catch((error: unknown) => {
        if (!failed(error)) throw error;
      }),
  ]);
}
