// What a partition key value's traffic grows with (SPEC §8), and the heat projections that follow from it.
//
// - shared: a key many users' requests land on (a sharded list, a stage-wide counter). Its traffic grows with
//   the route's rate, so its figure is the route rate at which it reaches 1,000 WCU or 3,000 RCU per second.
// - per entity: a key only one user's, one visit's or one message's own requests land on. When 10,000
//   requests/s come from many users, each such key still sees only its entity's own traffic; its figure is
//   that entity's bound (how many of its own requests per second it can make), named, as SPEC §8 allows.
// - per container: a key each warm container reads or writes on a timer, not per request (the providers'
//   breaker items, cached 1.5–3 s per container). Its traffic grows with warm containers and time; its
//   figure is the number of warm containers at which it reaches the limit.
// A key no rule names is shared: the conservative default. So is an entity's key that a workload's requests
// do not own (every pal reading the same open visits, every reader the same newest messages): each workload
// names the entities its requests act as or on (`owns`), and only those keys are bounded per entity.

/** How a family of key values is classified; the first matching rule wins. */
export interface KeyRule {
  match: RegExp;
  kind: 'entity' | 'container';
  /** The entity (or the timer) it belongs to, as the report names it. */
  name: string;
}

export const KEY_RULES: readonly KeyRule[] = [
  // visits: a user's account, sessions and ledger; a member's own visit indexes; one visit.
  { match: /^\$visits#(userid|ownerid)_[^#]+$/, kind: 'entity', name: 'one user (account, ledger)' },
  { match: /^\$visits#memberid_[^#]+(#status_\w+)?$/, kind: 'entity', name: "one member's visits" },
  { match: /^\$visits#visitid_[^#]+$/, kind: 'entity', name: 'one visit' },
  // tasks: one user's tasks and report state; one task.
  { match: /^\$tasks#userId_[^#]+(#state_\w+)?$/, kind: 'entity', name: "one user's tasks" },
  { match: /^\$tasks#taskId_[^#]+$/, kind: 'entity', name: 'one task' },
  // dispatch: one message (its item and its acceptance record); one destination number (its list, its
  // per-destination limit); one API caller's own limit.
  { match: /^\$dispatch#(id|messageid)_[^#]+$/, kind: 'entity', name: 'one message' },
  { match: /^\$dispatch#tonumber_\+\d+$/, kind: 'entity', name: 'one destination number' },
  {
    match: /^\$dispatch#ratelimit#messagesPerDestination#\+\d+$/,
    kind: 'entity',
    name: 'one destination number',
  },
  { match: /^\$dispatch#ratelimit#messagesPerCaller#[^#]+$/, kind: 'entity', name: 'one API caller' },
  {
    match: /^\$dispatch#provider_[^#]+$/,
    kind: 'container',
    name: "a provider's breaker (read once per 1.5–3 s per warm sender, written on an opening or a close)",
  },
  // stats: one user's figures in one course.
  { match: /^\$stats#userid_[^#]+#courseid_[^#]+$/, kind: 'entity', name: 'one user in one course' },
  // assistance: one request.
  { match: /^\$assistance#requestid_[^#]+$/, kind: 'entity', name: 'one assistance request' },
];

export function classify(pk: string, rules: readonly KeyRule[] = KEY_RULES): KeyRule | undefined {
  return rules.find((r) => r.match.test(pk));
}

/**
 * A key value that ends in a shard number (`…#shard_12`, `…#s3`): the family it belongs to (`…#shard_*`).
 * Writers pick a shard uniformly (at random, or from a random id), so at 10,000 requests/s each shard takes
 * the family's total over its shards; over the few dozen requests of a workload, the busiest shard of the
 * sample is mostly sampling noise (3 of 32 requests on one of 32 shards reads as 3× the real share).
 */
export function shardFamily(pk: string): { family: string; shard: number } | undefined {
  const m = /^(.*(?:shard_|#s))(\d+)$/i.exec(pk);
  return m ? { family: `${m[1]}*`, shard: Number(m[2]) } : undefined;
}

export interface HeatCellLike {
  wcu: number;
  rcu: number;
}

/** A shared key: the workload rate at which it reaches its limit. */
export interface HotSpot {
  index: string;
  pk: string;
  wcuPerRequest: number;
  rcuPerRequest: number;
  /** Requests per second of the workload at which this key reaches 1,000 WCU or 3,000 RCU. */
  projected: number;
}

/** A per-entity key: what one request of that entity costs on it, and that entity's own bound. */
export interface EntitySpot {
  index: string;
  pk: string;
  entity: string;
  /** Distinct key values of this entity seen in the index (the workload's requests spread over them). */
  entities: number;
  wcuPerRequest: number;
  rcuPerRequest: number;
  /** That one entity's own requests per second at which its key reaches the limit. */
  bound: number;
}

/** A per-container key: what it took per second of the workload, and the warm containers that reach the limit. */
export interface ContainerSpot {
  index: string;
  pk: string;
  what: string;
  wcuPerSecond: number;
  rcuPerSecond: number;
  /**
   * Warm containers at which the key reaches its limit, counting everything the workload's containers did
   * as if one container had done it (a lower bound: the local runtime ran up to 5 consumers at once).
   */
  containers: number;
}

export interface Heat {
  shared: HotSpot[];
  entities: EntitySpot[];
  containers: ContainerSpot[];
}

const limitRate = (wcu: number, rcu: number) =>
  Math.min(wcu > 0 ? 1000 / wcu : Number.POSITIVE_INFINITY, rcu > 0 ? 3000 / rcu : Number.POSITIVE_INFINITY);

/**
 * The heat of one workload of `requests` requests over `seconds`, from the capacity per `index|pk` cell.
 * Shared keys: the hottest per index, shards of a family counted as their mean (the family's total over its
 * shard count, taken as the highest shard number seen + 1; shards are numbered from 0 and chosen uniformly).
 * Per-entity keys of the entities the workload `owns` (by rule name): per index and entity, the busiest key
 * value, its cost per request of that entity, and that entity's bound. The workload's requests are spread
 * evenly over the distinct values seen, so one entity made requests / values of them, and at least one (a
 * request can own two entities of one kind: the pal's and the member's accounts). Per-container keys: the
 * busiest per index, per second of the workload.
 */
export function heatOf(
  cells: ReadonlyMap<string, HeatCellLike>,
  requests: number,
  seconds: number,
  owns: readonly string[],
  rules: readonly KeyRule[] = KEY_RULES,
): Heat {
  const shared = new Map<string, { wcu: number; rcu: number; shards: number }>();
  const entity = new Map<string, { rule: KeyRule; values: Map<string, HeatCellLike> }>();
  const containers = new Map<string, ContainerSpot>();
  for (const [key, cell] of cells) {
    const at = key.indexOf('|');
    const index = key.slice(0, at);
    const pk = key.slice(at + 1);
    const rule = classify(pk, rules);
    if (rule?.kind === 'entity' && owns.includes(rule.name)) {
      const group = entity.get(`${index}|${rule.name}`) ?? { rule, values: new Map() };
      group.values.set(pk, cell);
      entity.set(`${index}|${rule.name}`, group);
      continue;
    }
    if (rule?.kind === 'container') {
      const spot: ContainerSpot = {
        index,
        pk,
        what: rule.name,
        wcuPerSecond: cell.wcu / seconds,
        rcuPerSecond: cell.rcu / seconds,
        containers: limitRate(cell.wcu / seconds, cell.rcu / seconds),
      };
      const current = containers.get(index);
      if (!current || spot.containers < current.containers) containers.set(index, spot);
      continue;
    }
    const family = shardFamily(pk);
    const name = family ? `${index}|${family.family}` : key;
    const sum = shared.get(name) ?? { wcu: 0, rcu: 0, shards: 1 };
    sum.wcu += cell.wcu;
    sum.rcu += cell.rcu;
    if (family) sum.shards = Math.max(sum.shards, family.shard + 1);
    shared.set(name, sum);
  }

  const hot = new Map<string, HotSpot>();
  for (const [key, sum] of shared) {
    const at = key.indexOf('|');
    const index = key.slice(0, at);
    const wcuPerRequest = sum.wcu / sum.shards / requests;
    const rcuPerRequest = sum.rcu / sum.shards / requests;
    const spot = {
      index,
      pk: key.slice(at + 1),
      wcuPerRequest,
      rcuPerRequest,
      projected: limitRate(wcuPerRequest, rcuPerRequest),
    };
    const current = hot.get(index);
    if (!current || spot.projected < current.projected) hot.set(index, spot);
  }

  const entities: EntitySpot[] = [];
  for (const [key, group] of entity) {
    const index = key.slice(0, key.indexOf('|'));
    const perEntity = Math.max(1, requests / group.values.size);
    let worst: EntitySpot | undefined;
    for (const [pk, cell] of group.values) {
      const wcuPerRequest = cell.wcu / perEntity;
      const rcuPerRequest = cell.rcu / perEntity;
      const bound = limitRate(wcuPerRequest, rcuPerRequest);
      if (!worst || bound < worst.bound)
        worst = {
          index,
          pk,
          entity: group.rule.name,
          entities: group.values.size,
          wcuPerRequest,
          rcuPerRequest,
          bound,
        };
    }
    if (worst) entities.push(worst);
  }

  const order = (index: string) => (index === 'base' ? '' : index);
  const byIndex = <T extends { index: string }>(a: T, b: T) => order(a.index).localeCompare(order(b.index));
  return {
    shared: [...hot.values()].sort(byIndex),
    entities: entities.sort((a, b) => byIndex(a, b) || a.bound - b.bound),
    containers: [...containers.values()].sort(byIndex),
  };
}

/** The lowest shared projection of a workload (∞ when no shared key was touched). */
export const lowestShared = (heat: Heat) =>
  Math.min(Number.POSITIVE_INFINITY, ...heat.shared.map((s) => s.projected));
