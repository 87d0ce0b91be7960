import { startAwsProxy } from '../support/aws-proxy.js';

/** Operations that accept ReturnConsumedCapacity. */
const CAPACITY_OPS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

export interface Tally {
  calls: Record<string, number>;
  capacity: number;
}

/**
 * A counting HTTP proxy in front of DynamoDB Local: counts requests by X-Amz-Target and asks for
 * ReturnConsumedCapacity=TOTAL on each (DynamoDB Local does not check signatures), summing what comes back.
 * Works for any client, bundled or not, so the real bundles are measured unmodified.
 */
export async function startCountingProxy(target: string) {
  const tally: Tally = { calls: {}, capacity: 0 };
  const proxy = await startAwsProxy(target, {
    before: ({ operation, body }) => {
      tally.calls[operation] = (tally.calls[operation] ?? 0) + 1;
      if (!CAPACITY_OPS.has(operation)) return undefined;
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      parsed.ReturnConsumedCapacity = 'TOTAL';
      return Buffer.from(JSON.stringify(parsed));
    },
    after: (_, answer) => {
      try {
        const parsed = JSON.parse(answer.body.toString('utf8')) as {
          ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }>;
        };
        const consumed = parsed.ConsumedCapacity;
        for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : [])
          tally.capacity += c.CapacityUnits ?? 0;
      } catch {
        // not JSON: nothing to add
      }
      return answer;
    },
  });
  return {
    ...proxy,
    tally,
    reset: () => {
      tally.calls = {};
      tally.capacity = 0;
    },
  };
}
