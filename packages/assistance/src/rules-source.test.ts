import { describe, expect, it, vi } from 'vitest';
import { route } from './rules.js';
import { cachedRulesSource } from './rules-source.js';

const doc = (topic: string, channel = 'slack') =>
  JSON.stringify({
    rules: [channel === 'email' ? { topic, channel, recipients: ['a@example.com'] } : { topic, channel }],
  });

function setup(initial: string | undefined | Error) {
  let clock = 1_000_000;
  let value: string | undefined | Error = initial;
  const read = vi.fn(async () => {
    if (value instanceof Error) throw value;
    return value;
  });
  const log = { error: vi.fn(), warn: vi.fn() };
  const source = cachedRulesSource({ read, now: () => clock, log });
  return {
    source,
    read,
    log,
    set: (next: string | undefined | Error) => {
      value = next;
    },
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('cachedRulesSource', () => {
  it('reads once, serves the cache for under 60 s, and reads again at 60 s', async () => {
    const t = setup(doc('alpha'));
    expect(route(await t.source.current(), 'alpha')).toBeDefined();
    t.set(doc('beta'));
    t.advance(59_999);
    expect(route(await t.source.current(), 'alpha')).toBeDefined();
    expect(t.read).toHaveBeenCalledTimes(1);
    t.advance(1);
    const fresh = await t.source.current();
    expect(route(fresh, 'beta')).toBeDefined();
    expect(route(fresh, 'alpha')).toBeUndefined();
    expect(t.read).toHaveBeenCalledTimes(2);
  });

  it('never caches longer than 60 s even when asked to', async () => {
    let clock = 0;
    const read = vi.fn(async () => doc('x'));
    const source = cachedRulesSource({ read, now: () => clock, maxAgeMs: 600_000 });
    await source.current();
    clock += 60_000;
    await source.current();
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('shares one read between concurrent callers', async () => {
    const t = setup(doc('alpha'));
    await Promise.all([t.source.current(), t.source.current(), t.source.current()]);
    expect(t.read).toHaveBeenCalledTimes(1);
  });

  it('keeps the last good rules and logs an error when the parameter turns invalid', async () => {
    const t = setup(doc('alpha'));
    await t.source.current();
    t.set('{"rules":[{"topic":"beta","channel":"fax"}]}');
    t.advance(60_000);
    expect(route(await t.source.current(), 'alpha')).toBeDefined();
    expect(t.log.error).toHaveBeenCalledWith(
      expect.stringContaining('invalid'),
      expect.objectContaining({ problems: [expect.stringContaining('rules.0.channel')] }),
    );
    // not re-read on every request while broken, and a fix is picked up on the next read
    expect(t.read).toHaveBeenCalledTimes(2);
    t.set(doc('gamma', 'email'));
    t.advance(60_000);
    expect(route(await t.source.current(), 'gamma')?.destination.channel).toBe('email');
  });

  it('keeps the last good rules when SSM cannot be read', async () => {
    const t = setup(doc('alpha'));
    await t.source.current();
    t.set(new Error('socket hang up'));
    t.advance(60_000);
    expect(route(await t.source.current(), 'alpha')).toBeDefined();
    expect(t.log.error).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['invalid JSON', 'not json'],
    ['a read error', new Error('AccessDenied')],
    ['a missing parameter', undefined],
  ])('uses the built-in defaults when no good rules were ever read (%s)', async (_, value) => {
    const t = setup(value);
    const rules = await t.source.current();
    expect(route(rules, 'sales')?.destination.channel).toBe('slack');
    expect(route(rules, 'pricing')?.destination.channel).toBe('email');
  });
});
