import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Numbers without a country code are read as US numbers (the stage's home region). */
export const DEFAULT_REGION = 'US';

/** SPEC §5: the allowed countries when the stage names none. */
export const DEFAULT_ALLOWED_COUNTRIES: readonly string[] = ['US', 'CA'];

export const COUNTRY_NOT_ENABLED = 'destination country not enabled';
export const PREMIUM_RATE_REFUSED = 'premium-rate numbers are not accepted';
export const SHARED_COST_REFUSED = 'shared-cost numbers are not accepted';

/**
 * E.164 form of a phone number (`+14155552671`), or undefined when it is not a valid number.
 * Uses the full ('max') metadata so number ranges are checked, not only lengths, and so `getType()`
 * can tell premium-rate and shared-cost ranges apart (the 'min' set lacks most type patterns).
 */
export function toE164(input: string): string | undefined {
  if (input.length > 64) return undefined;
  const parsed = parsePhoneNumberFromString(input, DEFAULT_REGION);
  if (!parsed?.isValid()) return undefined;
  return parsed.number;
}

/**
 * Why a valid E.164 number may not be sent to, or undefined when it may: its country is not one the
 * stage enables (non-geographic numbers such as +800 have none, so they are never enabled), or it is
 * a premium-rate or shared-cost number (SMS pumping: the sender pays the receiver's operator).
 */
export function destinationRefusal(e164: string, allowedCountries: ReadonlySet<string>): string | undefined {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed?.country || !allowedCountries.has(parsed.country)) return COUNTRY_NOT_ENABLED;
  const type = parsed.getType();
  if (type === 'PREMIUM_RATE') return PREMIUM_RATE_REFUSED;
  if (type === 'SHARED_COST') return SHARED_COST_REFUSED;
  return undefined;
}
