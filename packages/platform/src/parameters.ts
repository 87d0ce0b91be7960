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
 * Reads an SSM parameter (SecureStrings decrypted) through Powertools' cache, so a warm container
 * asks SSM at most once per `maxAgeSeconds`. `name` is the full parameter name from a PARAM_* setting.
 */
export async function readParameter(name: string, maxAgeSeconds = 60): Promise<string> {
  let value: string | undefined;
  try {
    value = await getParameter(name, { decrypt: true, maxAge: maxAgeSeconds });
  } catch (error) {
    throw unavailable(UNREADABLE, `SSM parameter ${name} could not be read`, error);
  }
  if (!value) throw unavailable(MISSING, `SSM parameter ${name} is empty`);
  return value;
}

/** Like `readParameter`, but a parameter that does not exist (or is empty) is `undefined` (optional settings). */
export async function readOptionalParameter(name: string, maxAgeSeconds = 60): Promise<string | undefined> {
  try {
    const value = await getParameter(name, { decrypt: true, maxAge: maxAgeSeconds });
    return value ? value : undefined;
  } catch (error) {
    if ((error as { name?: string })?.name === 'ParameterNotFound' || hasCause(error, 'ParameterNotFound')) {
      return undefined;
    }
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
