import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { MAX_MODULES, SessionInput } from './schemas.js';
import { weightedAverage, weightedContribution } from './stats.js';

describe('weightedAverage', () => {
  it('weights each session score by its modules', () => {
    // (80 × 2 + 50 × 8) / 10
    expect(weightedAverage(80 * 2 + 50 * 8, 10)).toBe(56);
  });
  it('is 0 when no modules were studied', () => {
    expect(weightedAverage(0, 0)).toBe(0);
  });
  it('hides floating point noise', () => {
    expect(weightedAverage(0.1 * 3 + 0.2 * 3, 6)).toBe(0.15);
  });
});

describe('weightedContribution', () => {
  const share = (averageScore: number, totalModulesStudied: number) =>
    weightedContribution({ sessionId: '', averageScore, totalModulesStudied, timeStudied: 0 });
  it('is score × modules without digits below 1e-6', () => {
    expect(share(80, 2)).toBe(160);
    expect(share(33.333333333333336, 3)).toBe(100);
    expect(share(1e-50, 3)).toBe(0);
    expect(share(12.3456789, 1)).toBe(12.345679);
  });
  it('stays within the exact integers at the largest allowed session', () => {
    expect(share(100, MAX_MODULES)).toBe(100 * MAX_MODULES);
    expect(share(100, MAX_MODULES)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });
});

describe('SessionInput', () => {
  const valid = {
    sessionId: '1f0c6f46-6a3f-4c55-9d3b-2a4a9a8f0d11',
    totalModulesStudied: 3,
    averageScore: 72.5,
    timeStudied: 60000,
  };
  it('accepts a valid session', () => {
    expect(v.safeParse(SessionInput, valid).success).toBe(true);
  });
  it.each([
    ['averageScore', 0],
    ['averageScore', 1e-130],
    ['totalModulesStudied', MAX_MODULES],
    ['timeStudied', Number.MAX_SAFE_INTEGER],
  ])('accepts the bound %s = %j', (field, value) => {
    expect(v.safeParse(SessionInput, { ...valid, [field]: value }).success).toBe(true);
  });
  it.each([
    ['averageScore', 100.01],
    ['averageScore', -1],
    ['totalModulesStudied', 1.5],
    ['totalModulesStudied', -1],
    ['timeStudied', '10'],
    ['sessionId', 'not-a-uuid'],
    ['totalModulesStudied', MAX_MODULES + 1],
    ['timeStudied', Number.MAX_SAFE_INTEGER + 1],
    ['averageScore', 1e-131],
    ['averageScore', Number.NaN],
  ])('rejects %s = %j', (field, value) => {
    const result = v.safeParse(SessionInput, { ...valid, [field]: value });
    expect(result.success).toBe(false);
    expect(result.issues?.map((i) => v.getDotPath(i))).toContain(field);
  });
});
