import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceUnavailable } from './errors.js';

// Powertools' SSM reader is the port here: what it answers (a value, throttling, not found) is staged.
const answers: (string | Error | undefined)[] = [];
const asked: { name: string; maxAge: number }[] = [];
vi.mock('@aws-lambda-powertools/parameters/ssm', () => ({
  getParameter: vi.fn(async (name: string, options: { maxAge: number }) => {
    asked.push({ name, maxAge: options.maxAge });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return next;
  }),
}));

const { jitteredAge, PARAMETER_MAX_AGE_SECONDS, readOptionalParameter, readParameter } = await import(
  './parameters.js'
);
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const notFound = () => Object.assign(new Error('missing'), { name: 'ParameterNotFound' });

describe('SSM parameters at scale', () => {
  beforeEach(() => {
    answers.length = 0;
    asked.length = 0;
  });

  it('keeps a parameter 75–100 % of the age asked, drawn once per container and parameter', () => {
    expect(jitteredAge('/a', 300, () => 0)).toBe(225);
    expect(jitteredAge('/a', 300, () => 0.99)).toBe(225); // already drawn
    expect(jitteredAge('/b', 300, () => 0.999)).toBe(299);
    expect(jitteredAge('/c', 60, () => 0.5)).toBe(52);
    for (let i = 0; i < 50; i++) {
      const age = jitteredAge(`/r${i}`, PARAMETER_MAX_AGE_SECONDS);
      expect(age).toBeGreaterThanOrEqual(225);
      expect(age).toBeLessThanOrEqual(300);
    }
  });

  it('asks Powertools with the jittered age, 5 minutes by default', async () => {
    answers.push('v1');
    expect(await readParameter('/svc/x/default')).toBe('v1');
    expect(asked[0]?.maxAge).toBeGreaterThanOrEqual(225);
    expect(asked[0]?.maxAge).toBeLessThanOrEqual(300);
  });

  it('retries a throttled cold read with backoff before giving up', async () => {
    answers.push(throttled(), throttled(), 'cold');
    expect(await readParameter('/svc/x/cold')).toBe('cold');
    expect(asked).toHaveLength(3);
  });

  it('serves the last value when a refresh is throttled; 503 only without one', async () => {
    answers.push('good');
    expect(await readParameter('/svc/x/stale')).toBe('good');
    answers.push(throttled(), throttled(), throttled());
    expect(await readParameter('/svc/x/stale')).toBe('good');
    answers.push(throttled(), throttled(), throttled());
    await expect(readParameter('/svc/x/never')).rejects.toBeInstanceOf(ServiceUnavailable);
  });

  it('an optional parameter that is gone is undefined at once (no retries), and not served stale', async () => {
    answers.push('secret');
    expect(await readOptionalParameter('/svc/x/optional')).toBe('secret');
    answers.push(notFound());
    expect(await readOptionalParameter('/svc/x/optional')).toBeUndefined();
    expect(asked).toHaveLength(2);
    answers.push(throttled(), throttled(), throttled());
    await expect(readOptionalParameter('/svc/x/optional')).rejects.toBeInstanceOf(ServiceUnavailable);
  });
});
