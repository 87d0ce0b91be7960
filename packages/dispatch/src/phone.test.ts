import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './config.js';
import {
  COUNTRY_NOT_ENABLED,
  destinationRefusal,
  PREMIUM_RATE_REFUSED,
  SHARED_COST_REFUSED,
  toE164,
} from './phone.js';

const usCa = new Set(['US', 'CA']);
const e164 = (raw: string) => {
  const number = toE164(raw);
  if (!number) throw new Error(`${raw} should be a valid number`);
  return number;
};

describe('destination policy', () => {
  it.each([
    ['+1 415 555 2671', 'US'],
    ['+1 613 555 0123', 'CA'],
    ['+1 800 555 0199', 'US toll-free'],
  ])('sends to %s (%s)', (raw) => {
    expect(destinationRefusal(e164(raw), usCa)).toBeUndefined();
  });

  it.each([
    ['+44 20 7183 8750', 'GB fixed line'],
    ['+44 909 879 0000', 'GB premium rate: the country comes first'],
    ['+1 876 555 1234', 'Jamaica shares +1 but is another country'],
    ['+1 268 460 1234', 'Antigua, +1 too'],
    ['+237 6 71 23 45 67', 'Cameroon'],
  ])('refuses %s (%s) as a country not enabled', (raw) => {
    expect(destinationRefusal(e164(raw), usCa)).toBe(COUNTRY_NOT_ENABLED);
  });

  it('refuses premium-rate numbers even in an enabled country', () => {
    expect(destinationRefusal(e164('+1 900 555 0199'), usCa)).toBe(PREMIUM_RATE_REFUSED);
    const withGb = new Set([...usCa, 'GB', 'FR']);
    expect(destinationRefusal(e164('+44 909 879 0000'), withGb)).toBe(PREMIUM_RATE_REFUSED);
    expect(destinationRefusal(e164('+33 8 36 65 65 65'), withGb)).toBe(PREMIUM_RATE_REFUSED);
    expect(destinationRefusal(e164('+44 7911 123456'), withGb)).toBe(COUNTRY_NOT_ENABLED); // Guernsey
  });

  it('refuses shared-cost numbers', () => {
    const withFr = new Set(['US', 'FR', 'CH']);
    expect(destinationRefusal(e164('+33 8 10 12 34 56'), withFr)).toBe(SHARED_COST_REFUSED);
    expect(destinationRefusal(e164('+41 840 123 456'), withFr)).toBe(SHARED_COST_REFUSED);
    expect(destinationRefusal(e164('+33 6 12 34 56 78'), withFr)).toBeUndefined();
  });

  it('reads the allowed countries from SMS_ALLOWED_COUNTRIES (US and CA when unset)', () => {
    const base = { QUEUE_URL_DISPATCH_SEND: 'http://127.0.0.1/q' };
    expect([...loadApiConfig(base).SMS_ALLOWED_COUNTRIES]).toEqual(['US', 'CA']);
    expect([...loadApiConfig({ ...base, SMS_ALLOWED_COUNTRIES: 'us, gb' }).SMS_ALLOWED_COUNTRIES]).toEqual([
      'US',
      'GB',
    ]);
    expect(() => loadApiConfig({ ...base, SMS_ALLOWED_COUNTRIES: 'USA' })).toThrow(/SMS_ALLOWED_COUNTRIES/);
    expect(() => loadApiConfig({ ...base, SMS_ALLOWED_COUNTRIES: '' })).toThrow(/SMS_ALLOWED_COUNTRIES/);
  });
});
