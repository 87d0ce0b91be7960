// The partition-heat model: a proxy in front of DynamoDB Local that attributes every read and write to the
// partition key value it lands on, in the base table and in each global index, with the capacity it costs.
// Index writes are derived from the item's old and new images (read by the proxy itself around each write,
// uncounted), the way DynamoDB charges them: a put where the item enters an index, a delete where it leaves,
// both where its index key changes, one write where it stays and its projection changed (every index projects
// ALL, so any change of the item is one).
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '@svc/local/dynamodb';
import { TABLE } from '@svc/platform/table';
import { awsJsonAnswer, type ProxiedCall, startAwsProxy } from '../support/aws-proxy.js';

// biome-ignore lint/suspicious/noExplicitAny: DynamoDB's JSON wire format, read field by field
type Av = Record<string, any>;
type Item = Record<string, Av>;

/** Where a unit of capacity lands: `base` or an index name, and the partition key value. */
export interface HeatKey {
  index: string;
  pk: string;
}

export interface HeatCell {
  wcu: number;
  rcu: number;
  /** Requests refused by the per-key limit (enforcing mode only). */
  throttled: number;
  /**
   * Enforcing mode: the smallest share of its bucket the key had left after a request (1 = never used,
   * 0 = emptied, below 0 = in debt): how close a key that was never refused came to it.
   */
  lowest?: number;
}

const INDEXES = TABLE.globalIndexes.map((g) => ({ name: g.indexName, pk: g.partitionKey, sk: g.sortKey }));
const KEY_ATTR: Record<string, string> = {
  base: TABLE.partitionKey,
  ...Object.fromEntries(INDEXES.map((g) => [g.name, g.pk])),
};

/** DynamoDB's item size rule: attribute names plus values (numbers about 1 byte per 2 digits + 1). */
export function avSize(v: Av): number {
  if ('S' in v) return Buffer.byteLength(v.S as string);
  if ('N' in v) return Math.ceil(String(v.N).replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if ('B' in v) return Buffer.from(v.B as string, 'base64').length;
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('L' in v) return 3 + (v.L as Av[]).reduce((n: number, x: Av) => n + 1 + avSize(x), 0);
  if ('M' in v) return 3 + itemSize(v.M as Item) + Object.keys(v.M).length;
  if ('SS' in v) return (v.SS as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
  if ('NS' in v) return (v.NS as string[]).reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  return 0;
}
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += Buffer.byteLength(k) + avSize(v);
  return n;
}
const wcuOf = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const rcuOf = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
const str = (v: Av | undefined) => (v ? String(v.S ?? v.N ?? v.B ?? '') : undefined);

/** The partition key value of a Query: the `=` condition on the index's partition attribute. */
function queryPartition(body: Av): string | undefined {
  const attr = KEY_ATTR[(body.IndexName as string | undefined) ?? 'base'];
  const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (body.ExpressionAttributeValues ?? {}) as Item;
  for (const m of String(body.KeyConditionExpression ?? '').matchAll(/(#?[\w]+)\s*=\s*(:[\w]+)/g)) {
    const name = m[1]?.startsWith('#') ? names[m[1]] : m[1];
    if (name === attr) return str(values[m[2] ?? '']);
  }
  return undefined;
}

export interface HeatLimits {
  /** Per partition key value per second (the real limits are 1,000 and 3,000). */
  wcu: number;
  rcu: number;
  /**
   * How many seconds of its rate a key may spend at once (the bucket's size; default 1). Every key value
   * has a token bucket per kind, refilled continuously at `wcu`/`rcu` per second up to `burstSeconds` of
   * them, starting full: a request is refused while its key's bucket is empty, and what it cost (known
   * once it ran) is taken after, possibly into debt (a 3 WCU write on a 1 WCU/s key waits 3 s before the
   * next). A scale model sets it so that one entity's own few requests (one message's lifecycle) and the
   * per-window count of a busy key hold as many requests as the real limits' one second does.
   */
  burstSeconds?: number;
}

/**
 * The proxy. `cells` accumulates capacity per `index|pk`; `reset()` starts a new workload. With `limits`,
 * it also enforces them per key value, with a token bucket per key (see `HeatLimits`): a request whose
 * key's bucket is empty is answered ProvisionedThroughputExceededException (as DynamoDB would), before it
 * reaches the table.
 */
export async function startHeatProxy(target: string, initialLimits?: HeatLimits) {
  let limits = initialLimits;
  const client = new DynamoDBClient({
    endpoint: target,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const cells = new Map<string, HeatCell>();
  const calls: Record<string, number> = {};
  /** Per key value: tokens left of each kind, as of `at` (ms). */
  let buckets = new Map<string, { wcu: number; rcu: number; at: number }>();
  const add = (index: string, pk: string | undefined, wcu: number, rcu: number) => {
    if (pk === undefined) return;
    const key = `${index}|${pk}`;
    const cell = cells.get(key) ?? { wcu: 0, rcu: 0, throttled: 0 };
    cell.wcu += wcu;
    cell.rcu += rcu;
    cells.set(key, cell);
    if (limits) {
      const bucket = bucketOf(key, limits);
      bucket.wcu -= wcu;
      bucket.rcu -= rcu;
      const seconds = limits.burstSeconds ?? 1;
      const left = Math.min(bucket.wcu / (limits.wcu * seconds), bucket.rcu / (limits.rcu * seconds));
      cell.lowest = Math.min(cell.lowest ?? 1, left);
    }
  };
  /** The key's bucket, refilled up to now. */
  const bucketOf = (key: string, enforced: HeatLimits) => {
    const now = Date.now();
    const seconds = enforced.burstSeconds ?? 1;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { wcu: enforced.wcu * seconds, rcu: enforced.rcu * seconds, at: now };
      buckets.set(key, bucket);
    }
    const elapsed = (now - bucket.at) / 1000;
    bucket.wcu = Math.min(enforced.wcu * seconds, bucket.wcu + elapsed * enforced.wcu);
    bucket.rcu = Math.min(enforced.rcu * seconds, bucket.rcu + elapsed * enforced.rcu);
    bucket.at = now;
    return bucket;
  };
  const getItem = async (table: string, key: Item): Promise<Item | undefined> =>
    (await client.send(new GetItemCommand({ TableName: table, Key: key as never, ConsistentRead: true })))
      .Item as Item | undefined;

  /** One write's key and the images the proxy needs. */
  interface Write {
    table: string;
    key: Item;
    kind: 'put' | 'update' | 'delete' | 'check';
    put?: Item;
    old?: Item | undefined;
    transactional: boolean;
  }
  const writesOf = (operation: string, body: Av): Write[] => {
    const keyOf = (item: Item) => ({
      [TABLE.partitionKey]: item[TABLE.partitionKey] as Av,
      [TABLE.sortKey]: item[TABLE.sortKey] as Av,
    });
    if (operation === 'PutItem')
      return [
        { table: body.TableName, key: keyOf(body.Item), kind: 'put', put: body.Item, transactional: false },
      ];
    if (operation === 'UpdateItem')
      return [{ table: body.TableName, key: body.Key, kind: 'update', transactional: false }];
    if (operation === 'DeleteItem')
      return [{ table: body.TableName, key: body.Key, kind: 'delete', transactional: false }];
    if (operation === 'TransactWriteItems')
      return (body.TransactItems as Av[]).map((t): Write => {
        if (t.Put)
          return {
            table: t.Put.TableName,
            key: keyOf(t.Put.Item),
            kind: 'put',
            put: t.Put.Item,
            transactional: true,
          };
        if (t.Update)
          return { table: t.Update.TableName, key: t.Update.Key, kind: 'update', transactional: true };
        if (t.Delete)
          return { table: t.Delete.TableName, key: t.Delete.Key, kind: 'delete', transactional: true };
        return {
          table: t.ConditionCheck.TableName,
          key: t.ConditionCheck.Key,
          kind: 'check',
          transactional: true,
        };
      });
    if (operation === 'BatchWriteItem')
      return Object.entries(body.RequestItems as Record<string, Av[]>).flatMap(([table, requests]) =>
        requests.map(
          (r): Write =>
            r.PutRequest
              ? {
                  table,
                  key: keyOf(r.PutRequest.Item),
                  kind: 'put',
                  put: r.PutRequest.Item,
                  transactional: false,
                }
              : { table, key: r.DeleteRequest.Key, kind: 'delete', transactional: false },
        ),
      );
    return [];
  };
  /** Keys a request would land on (for enforcing): base partitions of writes and reads. */
  const landing = (operation: string, body: Av): string[] => {
    if (operation === 'GetItem') return [`base|${str(body.Key[TABLE.partitionKey])}`];
    if (operation === 'Query') return [`${body.IndexName ?? 'base'}|${queryPartition(body)}`];
    if (operation === 'BatchGetItem')
      return Object.values(body.RequestItems as Record<string, Av>).flatMap((r) =>
        (r.Keys as Item[]).map((k) => `base|${str(k[TABLE.partitionKey])}`),
      );
    if (operation === 'TransactGetItems')
      return (body.TransactItems as Av[]).map((t) => `base|${str(t.Get.Key[TABLE.partitionKey])}`);
    return writesOf(operation, body).map((w) => `base|${str(w.key[TABLE.partitionKey])}`);
  };
  const pending = new WeakMap<ProxiedCall, Write[]>();

  const proxy = await startAwsProxy(target, {
    before: async (call) => {
      calls[call.operation] = (calls[call.operation] ?? 0) + 1;
      let body: Av;
      try {
        body = JSON.parse(call.body.toString('utf8')) as Av;
      } catch {
        return undefined;
      }
      const writes = writesOf(call.operation, body);
      if (writes.length) {
        for (const w of writes) w.old = await getItem(w.table, w.key);
      }
      const enforced = limits;
      if (enforced) {
        // The keys this request lands on: base partitions, and for writes the index partitions of the
        // item as it is and as a put makes it (an update's index keys rarely move; its old ones count).
        const keys = new Set(landing(call.operation, body));
        for (const w of writes)
          for (const image of [w.old, w.put])
            for (const g of INDEXES) if (image?.[g.pk]) keys.add(`${g.name}|${str(image[g.pk])}`);
        const over = [...keys].find((key) => {
          const bucket = bucketOf(key, enforced);
          return (writes.length ? bucket.wcu : bucket.rcu) <= 0;
        });
        if (over) {
          const cell = cells.get(over) ?? { wcu: 0, rcu: 0, throttled: 0 };
          cell.throttled += 1;
          cells.set(over, cell);
          return awsJsonAnswer(400, {
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: `partition ${over} is over its scaled-down limit`,
          });
        }
      }
      if (writes.length) pending.set(call, writes);
      return undefined;
    },
    after: async (call, answer) => {
      let body: Av;
      try {
        body = JSON.parse(call.body.toString('utf8')) as Av;
      } catch {
        return answer;
      }
      // biome-ignore lint/suspicious/noExplicitAny: response JSON
      let out: any;
      try {
        out = JSON.parse(answer.body.toString('utf8'));
      } catch {
        out = {};
      }
      const ok = answer.status === 200;
      const writes = pending.get(call);
      if (writes) {
        for (const w of writes) {
          const pk = str(w.key[TABLE.partitionKey]);
          const factor = w.transactional ? 2 : 1;
          if (!ok || w.kind === 'check') {
            // A refused conditional write (or a condition check) still costs its base-table read/write.
            add(
              'base',
              pk,
              w.kind === 'check' ? 0 : factor * wcuOf(itemSize(w.old)),
              w.kind === 'check' ? factor * rcuOf(itemSize(w.old), true) : 0,
            );
            continue;
          }
          const next =
            w.kind === 'put' ? w.put : w.kind === 'delete' ? undefined : await getItem(w.table, w.key);
          add('base', pk, factor * wcuOf(Math.max(itemSize(w.old), itemSize(next))), 0);
          const changed = JSON.stringify(w.old) !== JSON.stringify(next);
          for (const g of INDEXES) {
            const inOld = w.old?.[g.pk] && w.old?.[g.sk] ? str(w.old[g.pk]) : undefined;
            const inNew = next?.[g.pk] && next?.[g.sk] ? str(next[g.pk]) : undefined;
            const sameKey =
              inOld !== undefined && inOld === inNew && str(w.old?.[g.sk]) === str(next?.[g.sk]);
            if (sameKey) {
              if (changed) add(g.name, inNew, wcuOf(itemSize(next)), 0);
              continue;
            }
            if (inOld !== undefined) add(g.name, inOld, wcuOf(itemSize(w.old)), 0);
            if (inNew !== undefined) add(g.name, inNew, wcuOf(itemSize(next)), 0);
          }
        }
        return answer;
      }
      if (!ok) return answer;
      const consistent = body.ConsistentRead === true;
      if (call.operation === 'GetItem')
        add('base', str(body.Key[TABLE.partitionKey]), 0, rcuOf(itemSize(out.Item), consistent));
      else if (call.operation === 'Query') {
        const bytes = ((out.Items ?? []) as Item[]).reduce((n, i) => n + itemSize(i), 0);
        add(body.IndexName ?? 'base', queryPartition(body), 0, rcuOf(bytes, consistent));
      } else if (call.operation === 'BatchGetItem') {
        for (const [table, request] of Object.entries(body.RequestItems as Record<string, Av>)) {
          const got = ((out.Responses?.[table] ?? []) as Item[]).map(
            (i) => [`${str(i[TABLE.partitionKey])}|${str(i[TABLE.sortKey])}`, i] as const,
          );
          const byKey = new Map(got);
          for (const k of request.Keys as Item[]) {
            const item = byKey.get(`${str(k[TABLE.partitionKey])}|${str(k[TABLE.sortKey])}`);
            add(
              'base',
              str(k[TABLE.partitionKey]),
              0,
              rcuOf(itemSize(item), request.ConsistentRead === true),
            );
          }
        }
      } else if (call.operation === 'TransactGetItems') {
        for (const [i, t] of (body.TransactItems as Av[]).entries())
          add(
            'base',
            str(t.Get.Key[TABLE.partitionKey]),
            0,
            2 * rcuOf(itemSize(out.Responses?.[i]?.Item), true),
          );
      } else if (call.operation === 'Scan') {
        const bytes = ((out.Items ?? []) as Item[]).reduce((n, i) => n + itemSize(i), 0);
        add(body.IndexName ?? 'base', '(scan)', 0, rcuOf(bytes, consistent));
      }
      return answer;
    },
  });
  return {
    endpoint: proxy.endpoint,
    cells,
    calls,
    /** Turns the per-key limits on (or off with undefined) from the next request on, every bucket full. */
    setLimits(next: HeatLimits | undefined) {
      limits = next;
      buckets = new Map();
    },
    reset() {
      cells.clear();
      for (const k of Object.keys(calls)) delete calls[k];
    },
    async stop() {
      await proxy.stop();
      client.destroy();
    },
  };
}
export type HeatProxy = Awaited<ReturnType<typeof startHeatProxy>>;
