import { type Limits, SPEC_LIMITS } from '@svc/infra/stage-config';

/**
 * The test stage's abuse limits: the same limiter, with numbers a whole test run stays under. Every suite
 * talks from 127.0.0.1 and many use one caller (`e2e`) and one destination number, which the SPEC presets
 * (20 registrations per IP per hour, 5 messages per number per hour…) would stop within seconds. The suites
 * that test the limits themselves run the SPEC presets (test/limits/).
 */
export const TEST_LIMITS: Partial<Limits> = {
  loginFailuresPerEmail: { kind: 'window', limit: 1_000_000, windowSeconds: 900 },
  loginFailuresPerIp: { kind: 'window', limit: 1_000_000, windowSeconds: 900 },
  registrationsPerIp: { kind: 'window', limit: 1_000_000, windowSeconds: 3600 },
  messagesPerDestination: { kind: 'window', limit: 1_000_000, windowSeconds: 3600 },
  messagesPerCaller: { kind: 'bucket', ratePerSecond: 10_000, burst: 100_000 },
  dailySegments: { kind: 'sharded', limit: 100_000_000, windowSeconds: 86_400, shards: 20, alarmPercent: 80 },
};

/**
 * RATE_LIMITS for handler tests that import a service's functions directly (as the CDK app and the local
 * runtime would set it, but with every limit of the service at once: the handlers load together).
 */
export function testRateLimits(service: string): string {
  const rules = { ...SPEC_LIMITS, ...TEST_LIMITS };
  return JSON.stringify({ prefix: `$${service}`, rules });
}
