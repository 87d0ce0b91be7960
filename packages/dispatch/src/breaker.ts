import { isConditionFailure } from '@svc/platform';
import { dispatchDb } from './entities.js';

export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker keeps the provider out before one probe call is let through. */
  openMs: number;
  /** How long one probe holds the half-open slot (then another sender may probe). */
  probeMs?: number;
  /**
   * How long a container keeps the breaker state it read (0: read on every send). Each read is kept for
   * between half and the whole of it, drawn at random, so containers do not all read at the same moment.
   */
  cacheMs?: number;
  /** After a breaker closes, the provider's share of first choices ramps from 10 % to 100 % over this long. */
  rampMs?: number;
  random?: () => number;
  /** Told when this container opened a breaker (the one write that did) or closed an open one. */
  onTransition?: (name: string, to: 'opened' | 'closed') => void;
}

export interface BreakerState {
  failures?: number | undefined;
  openUntil?: number | undefined;
  probeUntil?: number | undefined;
  /** When it last closed after being open (epoch ms): the start of its ramp. */
  closedAt?: number | undefined;
}

/** The open period of one opening, ±20 % at random, so probes of many containers do not come in waves. */
export function jitteredOpenMs(openMs: number, random: () => number = Math.random): number {
  return Math.round(openMs * (0.8 + 0.4 * random()));
}

/**
 * The share of first choices a closed provider gets while it ramps back after an outage: 10 % at the close,
 * growing linearly to 100 % after `rampMs` (full traffic never returns at once).
 */
export function rampShare(state: BreakerState | undefined, now: number, rampMs: number): number {
  if (!state?.closedAt || rampMs <= 0) return 1;
  const elapsed = now - state.closedAt;
  if (elapsed >= rampMs) return 1;
  return Math.min(1, 0.1 + (0.9 * Math.max(0, elapsed)) / rampMs);
}

export type BreakerPhase = 'closed' | 'open' | 'half-open';

/** closed → (threshold consecutive failures) → open → (openMs) → half-open → success: closed, failure: open. */
export function phaseOf(
  state: BreakerState | undefined,
  now: number,
  settings: BreakerSettings,
): BreakerPhase {
  if (!state || (state.failures ?? 0) < settings.failureThreshold) return 'closed';
  if ((state.openUntil ?? 0) > now) return 'open';
  return 'half-open';
}

/** Port: provider health shared by every sender. */
export interface CircuitBreaker {
  phases(names: readonly string[], now: number): Promise<Map<string, BreakerPhase>>;
  /** Claims the single probe of a half-open provider; false when another sender holds it. */
  tryProbe(name: string, now: number): Promise<boolean>;
  recordSuccess(name: string, now: number): Promise<void>;
  recordFailure(name: string, now: number): Promise<void>;
  /** The share of first choices a closed provider may take now (1 unless it is ramping back). */
  share?(name: string, now: number): number;
}

/**
 * Breaker state in the service table, one item per provider, so every Lambda instance sees the same
 * health. Writes are atomic counters and conditional updates; no read-modify-write races.
 *
 * With `cacheMs`, a container reads the items (eventually consistent) at most once per cache period, and
 * keeps what it wrote itself: at 10,000 sends/s the items are read by each container a few times a minute,
 * not on every send. A read the table refuses (throttled) keeps the last state the container knew, or
 * "closed" if it never knew one (sending may fail; not sending certainly does). A container that sees a
 * provider fail `failureThreshold` times opens it for itself at once and writes the shared item once; while
 * it knows the breaker open it does not write again.
 */
export function dynamoCircuitBreaker(settings: BreakerSettings): CircuitBreaker {
  const probeMs = settings.probeMs ?? 10_000;
  const cacheMs = settings.cacheMs ?? 0;
  const rampMs = settings.rampMs ?? 0;
  const random = settings.random ?? Math.random;
  const breakers = () => dispatchDb().entities.breaker;
  // Failures seen at the last read, so a success only writes when there is something to reset.
  const lastFailures = new Map<string, number>();
  const known = new Map<string, { state: BreakerState | undefined; until: number }>();
  /** Consecutive failures this container saw since its last read or success (cached mode). */
  const localFailures = new Map<string, number>();
  const remember = (name: string, state: BreakerState | undefined, now: number) => {
    known.set(name, { state, until: now + (cacheMs > 0 ? cacheMs * (0.5 + 0.5 * random()) : 0) });
  };

  return {
    async phases(names, now) {
      const due = names.filter((n) => cacheMs <= 0 || !((known.get(n)?.until ?? 0) > now));
      if (due.length > 0) {
        try {
          const { data } = await breakers()
            .get(due.map((provider) => ({ provider })))
            .go({ consistent: cacheMs <= 0 });
          const states = new Map(data.map((s) => [s.provider, s]));
          for (const name of due) {
            const state = states.get(name);
            lastFailures.set(name, state?.failures ?? 0);
            localFailures.delete(name);
            remember(name, state, now);
          }
        } catch (error) {
          if (cacheMs <= 0) throw error;
          // Unreadable: keep what was known (try again in a second), "closed" where nothing was.
          for (const name of due) known.set(name, { state: known.get(name)?.state, until: now + 1000 });
        }
      }
      const out = new Map<string, BreakerPhase>();
      for (const name of names) out.set(name, phaseOf(known.get(name)?.state, now, settings));
      return out;
    },

    share(name, now) {
      return rampShare(known.get(name)?.state, now, rampMs);
    },

    async tryProbe(name, now) {
      try {
        await breakers()
          .patch({ provider: name })
          .set({ probeUntil: now + probeMs, updatedAt: new Date(now).toISOString() })
          .where(
            (a, op) =>
              `(${op.notExists(a.probeUntil)} OR ${op.lte(a.probeUntil, now)}) AND ` +
              `(${op.notExists(a.openUntil)} OR ${op.lte(a.openUntil, now)})`,
          )
          .go();
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async recordSuccess(name, now) {
      localFailures.delete(name);
      if ((lastFailures.get(name) ?? 0) === 0) return;
      const wasOpen = known.get(name)?.state?.openUntil !== undefined;
      await breakers()
        .update({ provider: name })
        .set({ failures: 0, updatedAt: new Date(now).toISOString(), ...(wasOpen ? { closedAt: now } : {}) })
        .remove(['openUntil', 'probeUntil'])
        .go();
      lastFailures.set(name, 0);
      remember(name, { failures: 0, ...(wasOpen ? { closedAt: now } : {}) }, now);
      if (wasOpen) settings.onTransition?.(name, 'closed');
    },

    async recordFailure(name, now) {
      if (cacheMs > 0) {
        // Already open as far as this container knows: the shared item says so, nothing to add.
        if (phaseOf(known.get(name)?.state, now, settings) === 'open') return;
        const seen = (localFailures.get(name) ?? 0) + 1;
        localFailures.set(name, seen);
        const shared = known.get(name)?.state?.failures ?? 0;
        // Below the threshold as far as this container can tell: count it locally only.
        if (shared + seen < settings.failureThreshold && seen < settings.failureThreshold) return;
      }
      const add = cacheMs > 0 ? (localFailures.get(name) ?? 1) : 1;
      localFailures.delete(name);
      const { data } = await breakers()
        .upsert({ provider: name })
        .add({ failures: add })
        .set({ updatedAt: new Date(now).toISOString() })
        .go({ response: 'all_new' });
      const failures = data?.failures ?? 0;
      lastFailures.set(name, failures);
      if (failures < settings.failureThreshold) {
        remember(name, { ...known.get(name)?.state, failures }, now);
        return;
      }
      // Open it (or re-open after a failed probe); a breaker already open keeps its deadline.
      const openUntil = now + (cacheMs > 0 ? jitteredOpenMs(settings.openMs, random) : settings.openMs);
      remember(name, { failures, openUntil }, now);
      try {
        await breakers()
          .patch({ provider: name })
          .set({ openUntil })
          .where((a, op) => `${op.notExists(a.openUntil)} OR ${op.lte(a.openUntil, now)}`)
          .go();
        // Only the write that opened it: one count per opening however many containers saw the failures.
        settings.onTransition?.(name, 'opened');
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}
