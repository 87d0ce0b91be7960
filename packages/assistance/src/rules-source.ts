import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { logger } from '@svc/platform';
import { traceClient } from '@svc/platform/tracing';
import { DEFAULT_RULES, InvalidRules, parseRulesText, type RoutingRules } from './rules.js';

/** Port: where the current routing rules come from. */
export interface RulesSource {
  current(): Promise<RoutingRules>;
}

/** SPEC §4: rule changes are picked up within 60 seconds. */
export const MAX_RULES_AGE_MS = 60_000;

export interface CachedRulesOptions {
  /** The parameter's text, or undefined when it does not exist. */
  read: () => Promise<string | undefined>;
  maxAgeMs?: number;
  now?: () => number;
  defaults?: RoutingRules;
  log?: Pick<typeof logger, 'error' | 'warn'>;
}

/**
 * Rules read at most once per `maxAgeMs` (capped at 60 s). A read that fails, a missing parameter
 * or an invalid document never fails a request: the last good rules stay (the built-in defaults if
 * none was ever read) and the problem is logged; the next read is tried after the same interval.
 */
export function cachedRulesSource(options: CachedRulesOptions): RulesSource {
  const maxAge = Math.min(options.maxAgeMs ?? MAX_RULES_AGE_MS, MAX_RULES_AGE_MS);
  const now = options.now ?? Date.now;
  const log = options.log ?? logger;
  let lastGood: RoutingRules | undefined;
  let checkedAt: number | undefined;
  let inFlight: Promise<RoutingRules> | undefined;

  const refresh = async (): Promise<RoutingRules> => {
    const startedAt = now();
    try {
      const text = await options.read();
      if (text === undefined) {
        log.warn('routing rules parameter not found; keeping the current rules');
      } else {
        lastGood = parseRulesText(text);
      }
    } catch (error) {
      if (error instanceof InvalidRules) {
        log.error('routing rules parameter is invalid; keeping the last good rules', {
          problems: error.problems,
        });
      } else {
        log.error('routing rules could not be read; keeping the last good rules', { error: error as Error });
      }
    }
    checkedAt = startedAt;
    return lastGood ?? options.defaults ?? DEFAULT_RULES;
  };

  return {
    async current() {
      if (checkedAt !== undefined && now() - checkedAt < maxAge)
        return lastGood ?? options.defaults ?? DEFAULT_RULES;
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}

let ssm: SSMClient | undefined;

/** Reads one parameter straight from SSM (the cache above is the only one, so its age bound holds). */
export function ssmParameterText(name: string): () => Promise<string | undefined> {
  return async () => {
    ssm ??= traceClient(new SSMClient({ maxAttempts: 2 }));
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value;
    } catch (error) {
      if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw error;
    }
  };
}

export const ssmRulesSource = (parameterName: string): RulesSource =>
  cachedRulesSource({ read: ssmParameterText(parameterName) });
