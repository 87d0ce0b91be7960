import { backoffSeconds, jitteredBackoffSeconds } from '@svc/platform/queues';
import { describe, expect, it } from 'vitest';
import { invocationLeaseMs } from './sender-setup.js';

describe('invocationLeaseMs', () => {
  it('outlasts the invocation, so a slow sender keeps its claim until it can no longer run', () => {
    // 2 providers × 3 s + margin is shorter than a 30 s function that has just started.
    expect(invocationLeaseMs(16_000, 29_900)).toBeGreaterThan(29_900);
  });

  it('never goes below the configured lease', () => {
    expect(invocationLeaseMs(16_000, 500)).toBe(16_000);
  });
});

describe('backoffSeconds', () => {
  it('doubles with each failed delivery and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffSeconds(30, n))).toEqual([
      30, 60, 120, 240, 480, 900, 900,
    ]);
    expect(backoffSeconds(30, 0)).toBe(30);
  });

  it('jitters between half and all of it, so records that failed together spread out', () => {
    expect(jitteredBackoffSeconds(60, 1, () => 0)).toBe(30);
    expect(jitteredBackoffSeconds(60, 1, () => 0.999)).toBe(60);
    expect(jitteredBackoffSeconds(30, 7, () => 0)).toBe(450);
    expect(jitteredBackoffSeconds(1, 1, () => 0)).toBe(1);
  });
});
