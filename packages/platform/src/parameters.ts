import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { ServiceUnavailable } from './errors.js';

/**
 * The caller's answer never names the parameter (its path tells an attacker the stage's layout); the
 * name travels in the error's cause, which the request log prints.
 */
const UNREADABLE = 'A required setting could not be read; retry later.';
const MISSING = 'A required setting is missing; retry later.';

const unavailable = (message: string, detail: string, cause?: unknown) =>
  new ServiceUnavailable(message, 5, { cause: new Error(detail, cause === undefined ? {} : { cause }) });

/**
 * How long a container keeps a parameter by default: 5 minutes, so 1,000 warm containers refresh one
 * parameter about 3 times a second, far under SSM's 40 reads/s (see README "SSM parameters at scale").
 */
export const PARAMETER_MAX_AGE_SECONDS = 300;

/**
 * Each container keeps each parameter for 75–100 % of the age asked (drawn once; never longer, an age is a
 * promise of freshness), so the refreshes of many containers started together do not come in waves.
 */
const ages = new Map<string, number>();
export function jitteredAge(name: string, maxAgeSeconds: number, random: () => number = Math.random): number {
  const key = `${name}|${maxAgeSeconds}`;
  let age = ages.get(key);
  if (age === undefined) {
    age = Math.max(1, Math.floor(maxAgeSeconds * (0.75 + 0.25 * random())));
    ages.set(key, age);
  }
  return age;
}

/** The last value read per parameter: served when a refresh fails (SSM throttling), instead of a 503. */
const lastGood = new Map<string, string>();

/** Up to 3 reads with full-jitter backoff (100, 200 ms ceilings): a cold start meeting SSM throttling. */
async function fetchParameter(name: string, maxAge: number): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await getParameter(name, { decrypt: true, maxAge });
    } catch (error) {
      if (attempt >= 2 || isNotFound(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
    }
  }
}

const isNotFound = (error: unknown) =>
  (error as { name?: string })?.name === 'ParameterNotFound' || hasCause(error, 'ParameterNotFound');

/**
 * Reads an SSM parameter (SecureStrings decrypted) through Powertools' cache, so a warm container asks SSM at
 * most once per (jittered) `maxAgeSeconds`. A refresh that fails serves the last value this container read;
 * only a container that never read it answers 503. `name` is the full parameter name from a PARAM_* setting.
 */
export async function readParameter(
  name: string,
  maxAgeSeconds = PARAMETER_MAX_AGE_SECONDS,
): Promise<string> {
  let value: string | undefined;
  try {
    value = await fetchParameter(name, jitteredAge(name, maxAgeSeconds));
  } catch (error) {
    const stale = lastGood.get(name);
    if (stale !== undefined) return stale;
    throw unavailable(UNREADABLE, `SSM parameter ${name} could not be read`, error);
  }
  if (value === undefined || value === '') throw unavailable(MISSING, `SSM parameter ${name} is empty`);
  lastGood.set(name, value);
  return value;
}

/** Like `readParameter`, but a parameter that does not exist (or is empty) is `undefined` (optional settings). */
export async function readOptionalParameter(
  name: string,
  maxAgeSeconds = PARAMETER_MAX_AGE_SECONDS,
): Promise<string | undefined> {
  try {
    const value = await fetchParameter(name, jitteredAge(name, maxAgeSeconds));
    if (value) lastGood.set(name, value);
    else lastGood.delete(name);
    return value ? value : undefined;
  } catch (error) {
    if (isNotFound(error)) {
      lastGood.delete(name);
      return undefined;
    }
    const stale = lastGood.get(name);
    if (stale !== undefined) return stale;
    throw unavailable(UNREADABLE, `SSM parameter ${name} could not be read`, error);
  }
}

function hasCause(error: unknown, name: string): boolean {
  let current = (error as { cause?: unknown })?.cause;
  for (let depth = 0; current && depth < 4; depth++) {
    if ((current as { name?: string }).name === name) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
