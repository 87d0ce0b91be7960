// The heat model's key classes (SPEC §8): shared keys project a route rate, per-entity keys an entity's own
// bound, per-container keys a container count; a list or a stage-wide counter is never hidden as per-entity.
import { describe, expect, it } from 'vitest';
import { classify, heatOf, lowestShared } from './heat-keys.js';

const cells = (entries: [string, number, number][]) =>
  new Map(entries.map(([key, wcu, rcu]) => [key, { wcu, rcu }]));

describe('key classes', () => {
  it('names the keys one entity owns', () => {
    expect(classify('$visits#visitid_a8242399-1111-2222-3333-444455556666')?.name).toBe('one visit');
    expect(classify('$visits#userid_b2405ede-1111-2222-3333-444455556666')?.kind).toBe('entity');
    expect(classify('$visits#memberid_b2405ede-1111#status_requested')?.name).toBe("one member's visits");
    expect(classify('$tasks#userId_8d02b6ca-1111#state_open')?.name).toBe("one user's tasks");
    expect(classify('$dispatch#tonumber_+14155551001')?.name).toBe('one destination number');
    expect(classify('$dispatch#ratelimit#messagesPerDestination#+14155551001')?.name).toBe(
      'one destination number',
    );
    expect(classify('$dispatch#ratelimit#messagesPerCaller#heat-1234')?.name).toBe('one API caller');
    expect(classify('$stats#userid_10e87efe#courseid_1c0e0bd1')?.name).toBe('one user in one course');
    expect(classify('$dispatch#provider_provider2')?.kind).toBe('container');
  });

  it('keeps every list, feed and stage-wide counter shared', () => {
    for (const pk of [
      '$visits#status_requested#shard_3',
      '$visits#status_requested',
      '$dispatch#shard_5',
      '$dispatch#feed_all',
      '$dispatch#ratelimit#dailySegments#stage#s2',
      '$tasks#openShard_4',
      '$tasks#activityBucket_2026-12-06T08:30:00.000Z#activityShard_21',
      '$visits#ratelimit#registrationsPerIp#127.0.0.1',
    ])
      expect(classify(pk), pk).toBeUndefined();
  });
});

describe('heatOf', () => {
  it('projects shared keys per request, shards as their mean, the hottest per index', () => {
    const heat = heatOf(
      cells([
        ['base|$visits#status_requested#shard_0', 4, 0],
        ['base|$visits#status_requested#shard_3', 8, 0],
        ['base|$visits#status_requested#shard_1', 4, 0],
        ['base|$dispatch#feed_all', 2, 0],
        ['gsi2|$dispatch#feed_all', 0, 30],
      ]),
      16,
      4,
      [],
    );
    // 16 WCU over 4 shards over 16 requests = 0.25 WCU per request per shard: 4,000 requests/s.
    expect(heat.shared).toEqual([
      {
        index: 'base',
        pk: '$visits#status_requested#shard_*',
        wcuPerRequest: 0.25,
        rcuPerRequest: 0,
        projected: 4000,
      },
      { index: 'gsi2', pk: '$dispatch#feed_all', wcuPerRequest: 0, rcuPerRequest: 30 / 16, projected: 1600 },
    ]);
    expect(lowestShared(heat)).toBe(1600);
  });

  it("bounds per-entity keys by their entity's own requests, apart from the route rate", () => {
    // 16 completions of 16 visits: each visit's own item took 4 WCU from its one request.
    const heat = heatOf(
      cells([
        ...Array.from({ length: 16 }, (_, i): [string, number, number] => [
          `base|$visits#visitid_v${i}`,
          4,
          1,
        ]),
        ['base|$visits#status_completed#shard_0', 16, 0],
      ]),
      16,
      2,
      ['one visit'],
    );
    expect(heat.shared.map((s) => s.projected)).toEqual([1000]);
    expect(heat.entities).toEqual([
      {
        index: 'base',
        pk: '$visits#visitid_v0',
        entity: 'one visit',
        entities: 16,
        wcuPerRequest: 4,
        rcuPerRequest: 1,
        bound: 250,
      },
    ]);
  });

  it('counts a request that owns two entities of a kind once for each', () => {
    // 16 completions, each writing the pal's and the member's account: 32 accounts, one request each.
    const accounts = Array.from({ length: 32 }, (_, i): [string, number, number] => [
      `base|$visits#userid_u${i}`,
      4,
      1,
    ]);
    const heat = heatOf(cells(accounts), 16, 2, ['one user (account, ledger)']);
    expect(heat.entities[0]).toMatchObject({ entities: 32, wcuPerRequest: 4, bound: 250 });
  });

  it("projects an entity's key its requests do not own as shared: every pal reads the same visits", () => {
    const visits = Array.from({ length: 20 }, (_, i): [string, number, number] => [
      `base|$visits#visitid_v${i}`,
      0,
      i === 0 ? 12 : 8,
    ]);
    const heat = heatOf(cells([...visits, ['base|$visits#userid_pal', 0, 20]]), 40, 5, [
      'one user (account, ledger)',
    ]);
    // 12 RCU on the busiest visit over 40 list requests: 0.3 RCU a request, 10,000 requests/s.
    expect(heat.shared).toEqual([
      { index: 'base', pk: '$visits#visitid_v0', wcuPerRequest: 0, rcuPerRequest: 0.3, projected: 10_000 },
    ]);
    expect(heat.entities.map((e) => e.entity)).toEqual(['one user (account, ledger)']);
  });

  it("counts one entity's whole workload against that entity", () => {
    const heat = heatOf(cells([['base|$visits#userid_u1', 40, 20]]), 20, 5, ['one user (account, ledger)']);
    expect(heat.shared).toEqual([]);
    expect(lowestShared(heat)).toBe(Number.POSITIVE_INFINITY);
    expect(heat.entities[0]).toMatchObject({ entity: 'one user (account, ledger)', entities: 1, bound: 500 });
  });

  it('projects per-container keys in warm containers, from their traffic per second', () => {
    const heat = heatOf(
      cells([
        ['base|$dispatch#provider_provider1', 2, 4],
        ['base|$dispatch#provider_provider2', 10, 19],
      ]),
      60,
      20,
      [],
    );
    expect(heat.shared).toEqual([]);
    // 10 WCU in 20 s = 0.5 WCU/s: 2,000 containers doing as much reach 1,000 WCU/s.
    expect(heat.containers).toEqual([
      expect.objectContaining({ pk: '$dispatch#provider_provider2', wcuPerSecond: 0.5, containers: 2000 }),
    ]);
  });
});
