import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Numbers without a country code are read as US numbers (the stage's home region). */
export const DEFAULT_REGION = 'US';

/**
 * E.164 form of a phone number (`+14155552671`), or undefined when it is not a valid number.
 * Uses the full metadata so number ranges are checked, not only lengths.
 */
export function toE164(input: string): string | undefined {
  if (input.length > 64) return undefined;
  const parsed = parsePhoneNumberFromString(input, DEFAULT_REGION);
  if (!parsed?.isValid()) return undefined;
  return parsed.number;
}
