import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { phaseOf } from './breaker.js';
import { loadSenderConfig, parseWeights } from './config.js';
import { MessageInput } from './phone-schemas.js';

const env = {
  PROVIDER1_URL: 'http://127.0.0.1:3000/p1',
  PROVIDER2_URL: 'http://127.0.0.1:3000/p2',
  PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
  PROVIDER_TIMEOUT_MS: '1000',
  CALLBACK_BASE_URL: 'http://127.0.0.1:3000/',
  PARAM_DISPATCH_CALLBACK_SECRET: '/svc/local/dispatch-callback-secret',
  SQS_MAX_RECEIVE_COUNT: '3',
  QUEUE_URL_DISPATCH_STATUS_CALLBACKS:
    'http://127.0.0.1:9324/000000000000/svc-local-dispatch-status-callbacks',
};

describe('sender configuration', () => {
  it('reads providers, weights and URLs from the stage settings', () => {
    const config = loadSenderConfig(env);
    expect(config.providers).toEqual([
      { name: 'provider1', url: env.PROVIDER1_URL, weight: 30 },
      { name: 'provider2', url: env.PROVIDER2_URL, weight: 70 },
    ]);
    expect(config.callbackBaseUrl).toBe('http://127.0.0.1:3000');
    expect(config.maxReceiveCount).toBe(3);
    expect(config.breaker).toEqual({ failureThreshold: 3, openMs: 30_000 });
  });

  it('fails at cold start when a weighted provider has no URL', () => {
    expect(() => loadSenderConfig({ ...env, PROVIDER_WEIGHTS: 'provider1:30,provider3:70' })).toThrow(
      /PROVIDER3_URL/,
    );
  });

  it.each(['provider1', 'provider1:x', 'provider1:1,provider1:2', 'provider1:0,provider2:0', ''])(
    'refuses the weights %j',
    (raw) => {
      expect(() => parseWeights(raw)).toThrow();
    },
  );
});

describe('breaker phases', () => {
  const settings = { failureThreshold: 3, openMs: 30_000 };
  it.each([
    ['no state', undefined, 'closed'],
    ['failures below the threshold', { failures: 2 }, 'closed'],
    ['threshold reached, open window running', { failures: 3, openUntil: 1_500 }, 'open'],
    ['open window over', { failures: 3, openUntil: 1_000 }, 'half-open'],
    ['failed probe counted but not yet re-opened', { failures: 4, openUntil: 500 }, 'half-open'],
  ] as const)('%s → %s', (_, state, phase) => {
    expect(phaseOf(state, 1_000, settings)).toBe(phase);
  });
});

describe('MessageInput', () => {
  const parse = (input: unknown) => v.safeParse(MessageInput, input);
  it.each([
    ['(415) 555-2671', '+14155552671'],
    ['415.555.2671', '+14155552671'],
    ['+1 415 555 2671', '+14155552671'],
    ['+44 20 7183 8750', '+442071838750'],
  ])('normalises %s to %s', (raw, e164) => {
    const result = parse({ to_number: raw, message: 'hi' });
    expect(result.success && result.output.to_number).toBe(e164);
  });

  it.each(['1112223333', '12', 'not a number', '+999 1234', ''])(
    'refuses the number %j under to_number',
    (raw) => {
      const result = parse({ to_number: raw, message: 'hi' });
      expect(result.success).toBe(false);
      expect(result.issues?.map((i) => v.getDotPath(i))).toEqual(['to_number']);
    },
  );

  it('refuses an empty message and one longer than 10 segments', () => {
    expect(parse({ to_number: '4155552671', message: '' }).success).toBe(false);
    expect(parse({ to_number: '4155552671', message: 'a'.repeat(1530) }).success).toBe(true);
    expect(parse({ to_number: '4155552671', message: 'a'.repeat(1531) }).success).toBe(false);
    expect(parse({ to_number: '4155552671', message: 'ç'.repeat(670) }).success).toBe(true);
    expect(parse({ to_number: '4155552671', message: 'ç'.repeat(671) }).success).toBe(false);
  });
});
