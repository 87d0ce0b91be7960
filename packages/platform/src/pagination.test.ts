import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageQuery, takeWithinBytes } from './pagination.js';

const Query = v.object(pageQuery);

describe('pagination', () => {
  it('round-trips a store position through an opaque cursor', () => {
    const cursor = encodeCursor('eyJwayI6IngifQ');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor ?? undefined)).toBe('eyJwayI6IngifQ');
    expect(encodeCursor(null)).toBeNull();
  });

  it('defaults the limit to 50 and caps it at 100', () => {
    expect(v.parse(Query, {})).toEqual({ limit: 50 });
    expect(v.parse(Query, { limit: '100' }).limit).toBe(100);
    for (const bad of ['0', '101', '-1', '1.5', 'ten', ''])
      expect(v.safeParse(Query, { limit: bad }).success).toBe(false);
  });

  it('refuses cursors that are not ours', () => {
    for (const bad of ['!!!', Buffer.from('{"x":1}').toString('base64url'), 'abc']) {
      expect(v.safeParse(Query, { cursor: bad }).success).toBe(false);
    }
  });
});

describe('takeWithinBytes', () => {
  it('keeps items while their JSON fits the budget, and always the first one', () => {
    const items = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];
    expect(takeWithinBytes(items, 100)).toEqual(items.slice(0, 2));
    expect(takeWithinBytes(items, 10)).toEqual(items.slice(0, 1));
    expect(takeWithinBytes(items)).toEqual(items);
    expect(takeWithinBytes([], 10)).toEqual([]);
  });
});
