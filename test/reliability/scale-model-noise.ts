// The scale model's settings, and why its buckets hold 25 s over a 48 s run: a simulation of the model's
// own noise.
//
// At ÷1,000 a shared key sees ~1,000 times fewer writes per second than at full scale, so the count in any
// window is noisy (Poisson): a shard at half its budget on average still gets, now and then, a run of writes
// that would empty a small bucket. At full scale the same shard's count per second varies by ~3 %; here by
// ~40 %. The bucket must absorb that noise, or the test fails on sharded layouts by chance; and it must be
// small enough that a key really over its budget is still refused within the run. `pnpm exec tsx
// test/reliability/scale-model-noise.ts [--seconds 24]` prints both odds for a range of bucket sizes;
// scale-model-noise.test.ts holds the chosen size to them.
import { LIST_SHARDS } from '@svc/visits/entities';
import type { HeatLimits } from '../bench/heat-proxy.js';

/** Requests per second of the measured phase: 10,000/s ÷ 1,000. */
export const SCALE_RATE = 10;
/**
 * Length of the measured phase, and each key's bucket (1,000 WCU and 3,000 RCU per key ÷ 1,000, holding
 * 25 s of its rate). From the table this file prints (20,000 simulated runs each):
 *
 * | run, bucket | visit list false alarm | key at 1.5× / 2× / 3× its budget refused |
 * | ----------- | ---------------------- | ----------------------------------------- |
 * | 24 s, 10 s  | 15.1 % (stop 23's CI failure) | 69 % / 96 % / 100 % |
 * | 24 s, 20 s  | 0.18 %                 | 20 % / 68 % / 99.3 % |
 * | 48 s, 25 s  | 0.01 %                 | 53 % / 97 % / 100 % |
 *
 * The longer run buys back the power the larger bucket costs, for 24 s more of the suite. What it cannot
 * resolve (a key under ~2× its budget) is the partition-heat table's part: it prices every key per
 * request exactly (BENCHMARKS.md section 8), where this test proves the layout under enforced limits.
 */
export const SCALE_SECONDS = 48;
export const SCALE_LIMITS: HeatLimits = { wcu: 1, rcu: 3, burstSeconds: 25 };

/** A seeded generator (mulberry32), so the odds printed are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Writes (time in s, key, WCU) of one run, and whether any key's bucket was empty at a write. */
function throttles(writes: { at: number; key: number; wcu: number }[], limits: HeatLimits): boolean {
  const size = limits.wcu * (limits.burstSeconds ?? 1);
  const buckets = new Map<number, { left: number; at: number }>();
  for (const w of [...writes].sort((a, b) => a.at - b.at)) {
    const b = buckets.get(w.key) ?? { left: size, at: 0 };
    b.left = Math.min(size, b.left + (w.at - b.at) * limits.wcu);
    b.at = w.at;
    if (b.left <= 0) return true;
    b.left -= w.wcu;
    buckets.set(w.key, b);
  }
  return false;
}

/**
 * The test's visit traffic on the requested list's shards: of every 4 ticks two request a visit (a
 * transactional put of its entry on a random shard, 2 WCU) and one completes the oldest open visit (the
 * entry's transactional delete, 2 WCU, on the same shard), each landing a fraction of a second after its
 * tick. Returns the share of runs in which some shard is refused: a false alarm, since every shard's
 * average is under half its budget.
 */
export function visitListFalseAlarms(
  limits: HeatLimits,
  runs: number,
  seconds = SCALE_SECONDS,
  shards = LIST_SHARDS,
): number {
  const next = random(1);
  let alarms = 0;
  for (let run = 0; run < runs; run++) {
    const writes: { at: number; key: number; wcu: number }[] = [];
    const open: number[] = [];
    for (let tick = 0; tick < SCALE_RATE * seconds; tick++) {
      const at = tick / SCALE_RATE;
      const kind = tick % 4;
      if (kind === 0 || kind === 2) {
        const key = Math.floor(next() * shards);
        open.push(key);
        writes.push({ at: at + 0.05 + next() * 0.35, key, wcu: 2 });
      } else if (kind === 1) {
        const key = open.shift();
        if (key !== undefined) writes.push({ at: at + 0.1 + next() * 0.7, key, wcu: 2 });
      }
    }
    if (throttles(writes, limits)) alarms++;
  }
  return alarms / runs;
}

/**
 * One key taking `times` its budget on average, in random 2 WCU writes (a hot key: a status, "all", a
 * limiter on too few shards). Returns the share of runs in which it is refused at least once: the model's
 * power to catch it within the measured phase.
 */
export function hotKeyCaught(
  limits: HeatLimits,
  times: number,
  runs: number,
  seconds = SCALE_SECONDS,
): number {
  const next = random(2);
  let caught = 0;
  for (let run = 0; run < runs; run++) {
    const writes: { at: number; key: number; wcu: number }[] = [];
    // Poisson arrivals at times × wcu / 2 writes per second.
    for (let at = 0; ; ) {
      at += -Math.log(1 - next()) / ((times * limits.wcu) / 2);
      if (at >= seconds) break;
      writes.push({ at, key: 0, wcu: 2 });
    }
    if (throttles(writes, limits)) caught++;
  }
  return caught / runs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `--seconds 24`: another run length.
  const at = process.argv.indexOf('--seconds');
  const seconds = at > 0 ? Number(process.argv[at + 1]) : SCALE_SECONDS;
  const runs = 20_000;
  console.log(`${runs} simulated runs of ${seconds} s at ${SCALE_RATE} requests/s, 1 WCU/s per key`);
  console.log('bucket (s) | visit list false alarm | hot key caught at 1.5× / 2× / 3×');
  for (const burstSeconds of [5, 10, 15, 20, 25, 30]) {
    const limits = { ...SCALE_LIMITS, burstSeconds };
    const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
    console.log(
      `${String(burstSeconds).padStart(10)} | ${pct(visitListFalseAlarms(limits, runs, seconds)).padStart(22)} | ${[1.5, 2, 3].map((t) => pct(hotKeyCaught(limits, t, runs, seconds))).join(' / ')}`,
    );
  }
}
