import { describe, expect, it } from 'vitest';
import { emailKey, isTodayOrLater, palCredit, utcDay } from './rules.js';

describe('palCredit', () => {
  it.each([
    [30, 26, 4],
    [1, 1, 0],
    [2, 2, 0],
    [3, 3, 0],
    [4, 3, 1],
    [10, 9, 1],
    [60, 51, 9],
    [100, 85, 15],
    [120, 102, 18],
  ])('%i minutes → pal %i, fee %i', (minutes, credit, fee) => {
    expect(palCredit(minutes)).toEqual({ palCredit: credit, fee });
  });

  it('never loses or invents a minute, and the fee is about 15%', () => {
    for (let m = 1; m <= 10_000; m++) {
      const { palCredit: credit, fee } = palCredit(m);
      expect(credit + fee).toBe(m);
      expect(Number.isInteger(credit)).toBe(true);
      expect(fee).toBeGreaterThanOrEqual(0);
      expect(Math.abs(fee - m * 0.15)).toBeLessThanOrEqual(0.5);
    }
  });
});

describe('isTodayOrLater', () => {
  const now = new Date('2026-03-10T23:59:59Z');
  it('accepts today and later in UTC', () => {
    expect(isTodayOrLater('2026-03-10', now)).toBe(true);
    expect(isTodayOrLater('2026-03-11', now)).toBe(true);
    expect(isTodayOrLater('2027-01-01', now)).toBe(true);
  });
  it('refuses yesterday', () => {
    expect(isTodayOrLater('2026-03-09', now)).toBe(false);
  });
  it('uses the UTC day, not the local one', () => {
    expect(utcDay(new Date('2026-03-11T00:30:00+02:00'))).toBe('2026-03-10');
  });
});

describe('emailKey', () => {
  it('compares addresses case-insensitively', () => {
    expect(emailKey(' Ann@Example.COM ')).toBe(emailKey('ann@example.com'));
  });
});
