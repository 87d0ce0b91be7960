import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { ServiceUnavailable } from './errors.js';

/**
 * Reads an SSM parameter (SecureStrings decrypted) through Powertools' cache, so a warm container
 * asks SSM at most once per `maxAgeSeconds`. `name` is the full parameter name from a PARAM_* setting.
 */
export async function readParameter(name: string, maxAgeSeconds = 60): Promise<string> {
  let value: string | undefined;
  try {
    value = await getParameter(name, { decrypt: true, maxAge: maxAgeSeconds });
  } catch (error) {
    throw new ServiceUnavailable(`Configuration ${name} could not be read.`, 5, { cause: error });
  }
  if (value === undefined) throw new ServiceUnavailable(`Configuration ${name} is missing.`, 5);
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
    throw new ServiceUnavailable(`Configuration ${name} could not be read.`, 5, { cause: error });
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
