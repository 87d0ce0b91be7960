import { type AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as v from 'valibot';
import { loadConfig } from './config.js';
import { Conflict, ServiceUnavailable } from './errors.js';
import { traceClient } from './tracing.js';

const TableEnv = v.object({ TABLE_NAME: v.pipe(v.string(), v.minLength(1)) });

let documentClient: DynamoDBDocumentClient | undefined;
let tableName: string | undefined;

/**
 * One DynamoDB client per container, created on first use and reused across invocations.
 * The endpoint comes from the SDK's own settings (AWS_ENDPOINT_URL_DYNAMODB locally).
 */
export function dynamo(): { client: DynamoDBDocumentClient; table: string } {
  if (!documentClient || !tableName) {
    tableName = loadConfig(TableEnv).TABLE_NAME;
    documentClient = DynamoDBDocumentClient.from(traceClient(new DynamoDBClient({ maxAttempts: 3 })), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }
  return { client: documentClient, table: tableName };
}

const BATCH_GET_ROUNDS = 4;

/**
 * One UpdateItem written in DynamoDB's expression language, for what an entity library cannot say (a map
 * entry whose name is data, such as a token id). The caller gives the item's table key and the expressions;
 * the SDK stays here. A failed condition throws as usual (`isConditionFailure`).
 */
export async function updateWithExpression(input: {
  key: Record<string, unknown>;
  update: string;
  condition: string;
  names?: Record<string, string>;
  values: Record<string, unknown>;
}): Promise<void> {
  const { client, table } = dynamo();
  await client.send(
    new UpdateCommand({
      TableName: table,
      Key: input.key,
      UpdateExpression: input.update,
      ConditionExpression: input.condition,
      ...(input.names && Object.keys(input.names).length > 0
        ? { ExpressionAttributeNames: input.names }
        : {}),
      ExpressionAttributeValues: input.values,
    }),
  );
}

/**
 * Runs one batch read (a BatchGetItem: the raw one, or an ElectroDB entity's `get([...]).go()`) until every
 * key is answered. Keys DynamoDB leaves unprocessed (it does so under throttling) are asked again after a
 * short backoff (50, 100, 200 ms, …); if some are still left after `rounds` requests, 503 (retry later).
 */
export async function readAllKeys<K, T>(
  keys: readonly K[],
  read: (keys: K[]) => Promise<{ items: readonly T[]; unprocessed: readonly K[] }>,
  rounds = BATCH_GET_ROUNDS,
): Promise<T[]> {
  const items: T[] = [];
  let pending = [...keys];
  for (let round = 0; pending.length > 0; round++) {
    if (round === rounds) throw new ServiceUnavailable('DynamoDB is throttling reads, retry later.');
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
    const answer = await read(pending);
    items.push(...answer.items);
    pending = [...answer.unprocessed];
  }
  return items;
}

/**
 * Items of any entities, by their table keys, in one strongly consistent BatchGetItem (at most 100 keys, no
 * duplicates): one round trip where a handler needs several items at once. Keys DynamoDB leaves unprocessed
 * (it does so under throttling) are asked again with a short backoff; if some are still left, 503. Items that
 * do not exist are simply absent from the answer, which is in no particular order.
 */
export async function batchGetConsistent(
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const { client, table } = dynamo();
  return readAllKeys(keys, async (pending) => {
    const answer = await client.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    return {
      items: answer.Responses?.[table] ?? [],
      unprocessed: answer.UnprocessedKeys?.[table]?.Keys ?? [],
    };
  });
}

/** Names in the error chain (ElectroDB wraps the SDK's error in `cause`). */
function errorNames(error: unknown): string[] {
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (typeof e.name === 'string') names.push(e.name);
    if (typeof e.code === 'string') names.push(e.code);
    current = e.cause;
  }
  return names;
}

/** The SDK's own cancellation reasons, when a TransactWriteItems was cancelled. */
export function cancellationCodes(error: unknown): string[] {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const reasons = (current as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
    if (Array.isArray(reasons)) return reasons.map((r) => r.Code ?? 'None');
    current = (current as { cause?: unknown }).cause;
  }
  return [];
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

export function isConditionFailure(error: unknown): boolean {
  return errorNames(error).includes('ConditionalCheckFailedException');
}

/** Asks a conditional write to return the item as it was when its condition fails. */
export const OLD_ITEM_ON_CONDITION_FAILURE = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const;

/**
 * The item as it was when a write's condition failed, if the write asked for it
 * (`params: OLD_ITEM_ON_CONDITION_FAILURE`): saves a second read to learn why it failed. Undefined when
 * the item did not exist or the write did not ask.
 */
export function conditionFailureItem(error: unknown): Record<string, unknown> | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const item = (current as { Item?: Record<string, AttributeValue> }).Item;
    if (item && typeof item === 'object') return unmarshall(item);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A transaction or write lost a race with another writer: safe to retry from the start. */
export function isWriteConflict(error: unknown): boolean {
  const names = errorNames(error);
  if (names.includes('TransactionConflictException') || names.includes('TransactionInProgressException'))
    return true;
  return cancellationCodes(error).includes('TransactionConflict');
}

export function isThrottling(error: unknown): boolean {
  const names = errorNames(error);
  return names.some((n) => THROTTLING.has(n)) || cancellationCodes(error).some((c) => THROTTLING.has(c));
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /**
   * Time all attempts may take together (default {@link RETRY_BUDGET_MS}): no retry starts after it, so a
   * throttled request answers 503 well inside the function's timeout instead of running into it (a
   * timeout reaches the caller as API Gateway's bare 500).
   */
  budgetMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The clock the budget is measured on (tests move it with their `sleep`). */
  now?: () => number;
}

/**
 * The default retry budget. Each attempt can itself spend ~1.5 s in the SDK's own throttling backoff (3
 * attempts, 500 ms base), so a request stops retrying by ~5 s and answers by ~7 s: inside the API
 * functions' 10 s timeout, with room for the work before and after.
 */
export const RETRY_BUDGET_MS = 5_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation`, retrying with full jitter when DynamoDB reports a write conflict or throttling.
 * Out of attempts or out of time (`budgetMs`): conflicts become 409, throttling 503 (SPEC §0: never a
 * 500 for contention).
 * Any other error (including condition failures, which carry business meaning) passes straight through.
 */
export async function retryContention<T>(
  operation: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 20;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const deadline = now() + (options.budgetMs ?? RETRY_BUDGET_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const conflict = isWriteConflict(error);
      const throttled = !conflict && isThrottling(error);
      if (!conflict && !throttled) throw error;
      const delay = Math.random() * base * 2 ** attempt;
      if (attempt >= attempts || now() + delay >= deadline) {
        if (throttled) throw new ServiceUnavailable('The database is busy, retry later.', 1);
        throw new Conflict('Too many concurrent changes to the same data, retry later.');
      }
      await sleep(delay);
    }
  }
}

/** What ElectroDB's `transaction.write(...).go()` resolves to. */
export interface TransactionOutcome {
  canceled: boolean;
  data: { rejected: boolean; code: string }[];
}

/** Thrown for a cancelled transaction whose reasons are contention, so `retryContention` retries it. */
export class TransactionContention extends Error {
  constructor(readonly codes: string[]) {
    super(`Transaction cancelled by contention: ${codes.join(', ')}`);
    this.name = 'TransactionConflictException';
  }
}

/**
 * ElectroDB reports a cancelled transaction as data rather than an exception. Contention becomes an
 * exception (so it is retried); otherwise the per-item codes are returned for the domain to interpret
 * (`ConditionalCheckFailed` at index i means item i's condition did not hold).
 */
export function transactionCodes(outcome: TransactionOutcome): string[] | undefined {
  if (!outcome.canceled) return undefined;
  const codes = outcome.data.map((d) => d.code);
  if (codes.some((c) => c === 'TransactionConflict' || THROTTLING.has(c))) {
    throw new TransactionContention(codes);
  }
  return codes;
}
