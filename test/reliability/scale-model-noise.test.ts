import { describe, expect, it } from 'vitest';
import { hotKeyCaught, SCALE_LIMITS, visitListFalseAlarms } from './scale-model-noise.js';

// The scale model's bucket and run length, held to the odds that chose them (scale-model-noise.ts).
describe('scale model noise', () => {
  it('a sharded list at under half its budget is refused by chance in under 1 run in 1,000', () => {
    expect(visitListFalseAlarms(SCALE_LIMITS, 5_000)).toBeLessThan(0.001);
  });

  it('a key at twice its budget is refused in 95 % of runs, at three times in all', () => {
    expect(hotKeyCaught(SCALE_LIMITS, 2, 5_000)).toBeGreaterThan(0.95);
    expect(hotKeyCaught(SCALE_LIMITS, 3, 5_000)).toBe(1);
  });

  it('the 10 s bucket of stop 23 fails the first check (a sharded list refused in ~1 run in 6)', () => {
    expect(visitListFalseAlarms({ ...SCALE_LIMITS, burstSeconds: 10 }, 5_000, 24)).toBeGreaterThan(0.1);
  });
});
