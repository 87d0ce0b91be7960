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
