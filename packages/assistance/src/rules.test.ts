import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROUTING_RULES,
  InvalidRules,
  knownTopics,
  parseRules,
  parseRulesText,
  route,
} from './rules.js';

const rules = parseRules({
  rules: [
    { topic: 'Sales', channel: 'slack', fallback: { channel: 'email', recipients: ['s@example.com'] } },
    { topic: 'pricing', channel: 'email', recipients: ['p@example.com', 'q@example.com'] },
    { topic: 'sales', channel: 'email', recipients: ['never@example.com'] },
  ],
});

const problemsOf = (document: unknown): string[] => {
  try {
    parseRules(document);
  } catch (error) {
    if (error instanceof InvalidRules) return error.problems;
    throw error;
  }
  throw new Error('expected InvalidRules');
};

describe('route', () => {
  it('matches topics case-insensitively and ignores surrounding spaces', () => {
    for (const topic of ['sales', 'SALES', 'Sales', '  sAlEs ']) {
      expect(route(rules, topic)?.destination.channel).toBe('slack');
    }
    expect(route(rules, 'PRICING')?.destination).toEqual({
      channel: 'email',
      settings: { recipients: ['p@example.com', 'q@example.com'] },
    });
  });

  it('takes the first matching rule', () => {
    const rule = route(rules, 'sales');
    expect(rule?.destination.channel).toBe('slack');
    expect(rule?.fallback).toEqual({ channel: 'email', settings: { recipients: ['s@example.com'] } });
  });

  it('has no route for an unknown topic without a catch-all, and lists the named topics once', () => {
    expect(route(rules, 'support')).toBeUndefined();
    expect(knownTopics(rules)).toEqual(['sales', 'pricing']);
  });

  it('sends unknown topics to the catch-all, but earlier named rules still win', () => {
    const withCatchAll = parseRules({
      rules: [
        { topic: 'sales', channel: 'slack' },
        { topic: '*', channel: 'email', recipients: ['all@example.com'] },
        { topic: 'pricing', channel: 'slack' },
      ],
    });
    expect(route(withCatchAll, 'sales')?.destination.channel).toBe('slack');
    expect(route(withCatchAll, 'anything')?.destination.channel).toBe('email');
    // first match wins: the catch-all comes before pricing
    expect(route(withCatchAll, 'pricing')?.destination.channel).toBe('email');
    expect(knownTopics(withCatchAll)).toEqual(['sales', 'pricing']);
  });

  it('routes the defaults: sales to Slack (falling back to email), pricing to email', () => {
    const defaults = parseRules(DEFAULT_ROUTING_RULES);
    expect(route(defaults, 'Sales')?.destination.channel).toBe('slack');
    expect(route(defaults, 'Sales')?.fallback?.channel).toBe('email');
    expect(route(defaults, 'pricing')?.destination.channel).toBe('email');
    expect(route(defaults, 'other')).toBeUndefined();
  });
});

describe('parseRules', () => {
  it('accepts the documented JSON text', () => {
    expect(parseRulesText(JSON.stringify(DEFAULT_ROUTING_RULES)).rules).toHaveLength(2);
  });

  it.each([
    ['not JSON', '{rules:'],
    ['no rules', '{}'],
    ['an empty list', '{"rules":[]}'],
  ])('rejects %s', (_, text) => {
    expect(() => parseRulesText(text)).toThrow(InvalidRules);
  });

  it('names every problem with its place', () => {
    const problems = problemsOf({
      rules: [
        { topic: 'a', channel: 'fax' },
        { topic: 'b', channel: 'email' },
        { topic: 'c', channel: 'email', recipients: ['not-an-address'] },
        { topic: 'd', channel: 'slack', recipients: ['x@example.com'] },
        { topic: 'e', channel: 'slack', fallback: { channel: 'slack' } },
        { topic: '', channel: 'slack' },
      ],
    });
    expect(problems.join('\n')).toMatch(/rules\.0\.channel: must be one of: slack, email/);
    expect(problems.join('\n')).toMatch(/rules\.1.*recipients/);
    expect(problems.join('\n')).toMatch(/rules\.2\.recipients\.0: recipients must be email addresses/);
    expect(problems.join('\n')).toMatch(/rules\.3.*slack rules take no other fields/);
    expect(problems.join('\n')).toMatch(/rules\.4\.fallback\.channel: must differ/);
    expect(problems.join('\n')).toMatch(/rules\.5\.topic: topic must not be empty/);
  });

  it('needs recipients on an email fallback', () => {
    expect(
      problemsOf({ rules: [{ topic: 'a', channel: 'slack', fallback: { channel: 'email' } }] })[0],
    ).toMatch(/rules\.0\.fallback/);
  });
});
