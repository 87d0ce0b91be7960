import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure } from './dynamo.js';
import { BadRequest, Conflict, ValidationFailed } from './errors.js';
import { IDEMPOTENCY_KEY_PREFIX } from './table.js';

/** What was answered the first time, replayed for a repeat with the same key and body. */
export interface StoredResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type IdempotencyStart = { state: 'new' } | { state: 'replay'; response: StoredResponse };

/** Port: where idempotency records live. The DynamoDB adapter below keeps them in the service table. */
export interface IdempotencyStore {
  start(key: string, fingerprint: string): Promise<IdempotencyStart>;
  complete(key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  release(key: string): Promise<void>;
}

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** An in-progress record older than this is taken to be from a crashed invocation. */
const IN_PROGRESS_SECONDS = 60;

export function fingerprintOf(parts: unknown[]): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/** JSON with sorted object keys, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function validateIdempotencyKey(key: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw new BadRequest('Invalid Idempotency-Key header.', {
      'idempotency-key': ['must be 1 to 255 printable ASCII characters'],
    });
  }
}

export function dynamoIdempotencyStore(now: () => number = Date.now): IdempotencyStore {
  const keyOf = (key: string) => ({ pk: `${IDEMPOTENCY_KEY_PREFIX}${key}`, sk: '$idem' });
  return {
    async start(key, fingerprint) {
      const { client, table } = dynamo();
      const nowSeconds = Math.floor(now() / 1000);
      try {
        await client.send(
          new PutCommand({
            TableName: table,
            Item: {
              ...keyOf(key),
              status: 'in_progress',
              fingerprint,
              lockedUntil: nowSeconds + IN_PROGRESS_SECONDS,
              expiresAt: nowSeconds + IDEMPOTENCY_TTL_SECONDS,
            },
            // A fresh key, an expired record (TTL deletion is lazy) or an abandoned in-progress claim.
            ConditionExpression:
              'attribute_not_exists(pk) OR expiresAt < :now OR (#s = :inProgress AND lockedUntil < :now)',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':now': nowSeconds, ':inProgress': 'in_progress' },
          }),
        );
        return { state: 'new' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const existing = await client.send(
        new GetCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true }),
      );
      const item = existing.Item as
        | { status: string; fingerprint: string; response?: StoredResponse }
        | undefined;
      if (!item) return this.start(key, fingerprint);
      if (item.fingerprint !== fingerprint) {
        throw new ValidationFailed(
          { 'idempotency-key': ['was already used with a different request'] },
          'Idempotency-Key reused with a different request.',
        );
      }
      if (item.status !== 'completed' || !item.response) {
        throw new Conflict('A request with this Idempotency-Key is still in progress.');
      }
      return { state: 'replay', response: item.response };
    },
    async complete(key, fingerprint, response) {
      const { client, table } = dynamo();
      const nowSeconds = Math.floor(now() / 1000);
      await client.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...keyOf(key),
            status: 'completed',
            fingerprint,
            response,
            expiresAt: nowSeconds + IDEMPOTENCY_TTL_SECONDS,
          },
        }),
      );
    },
    async release(key) {
      const { client, table } = dynamo();
      await client
        .send(
          new DeleteCommand({
            TableName: table,
            Key: keyOf(key),
            ConditionExpression: '#s = :inProgress',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':inProgress': 'in_progress' },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    },
  };
}
