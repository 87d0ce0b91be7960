import { isConditionFailure } from '@svc/platform';
import { dispatchDb } from './entities.js';

export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker keeps the provider out before one probe call is let through. */
  openMs: number;
  /** How long one probe holds the half-open slot (then another sender may probe). */
  probeMs?: number;
}

export interface BreakerState {
  failures?: number | undefined;
  openUntil?: number | undefined;
  probeUntil?: number | undefined;
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
}

/**
 * Breaker state in the service table, one item per provider, so every Lambda instance sees the same
 * health. Writes are atomic counters and conditional updates; no read-modify-write races.
 */
export function dynamoCircuitBreaker(settings: BreakerSettings): CircuitBreaker {
  const probeMs = settings.probeMs ?? 10_000;
  const breakers = () => dispatchDb().entities.breaker;
  // Failures seen at the last read, so a success only writes when there is something to reset.
  const lastFailures = new Map<string, number>();

  return {
    async phases(names, now) {
      const { data } = await breakers()
        .get(names.map((provider) => ({ provider })))
        .go({ consistent: true });
      const states = new Map(data.map((s) => [s.provider, s]));
      const out = new Map<string, BreakerPhase>();
      for (const name of names) {
        const state = states.get(name);
        lastFailures.set(name, state?.failures ?? 0);
        out.set(name, phaseOf(state, now, settings));
      }
      return out;
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
      if ((lastFailures.get(name) ?? 0) === 0) return;
      await breakers()
        .update({ provider: name })
        .set({ failures: 0, updatedAt: new Date(now).toISOString() })
        .remove(['openUntil', 'probeUntil'])
        .go();
      lastFailures.set(name, 0);
    },

    async recordFailure(name, now) {
      const { data } = await breakers()
        .upsert({ provider: name })
        .add({ failures: 1 })
        .set({ updatedAt: new Date(now).toISOString() })
        .go({ response: 'all_new' });
      const failures = data?.failures ?? 0;
      lastFailures.set(name, failures);
      if (failures < settings.failureThreshold) return;
      // Open it (or re-open after a failed probe); a breaker already open keeps its deadline.
      try {
        await breakers()
          .patch({ provider: name })
          .set({ openUntil: now + settings.openMs })
          .where((a, op) => `${op.notExists(a.openUntil)} OR ${op.lte(a.openUntil, now)}`)
          .go();
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}
