import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { SessionInput } from './schemas.js';
import { weightedAverage } from './stats.js';

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
    ['averageScore', 100.01],
    ['averageScore', -1],
    ['totalModulesStudied', 1.5],
    ['totalModulesStudied', -1],
    ['timeStudied', '10'],
    ['sessionId', 'not-a-uuid'],
  ])('rejects %s = %j', (field, value) => {
    const result = v.safeParse(SessionInput, { ...valid, [field]: value });
    expect(result.success).toBe(false);
    expect(result.issues?.map((i) => v.getDotPath(i))).toContain(field);
  });
});
