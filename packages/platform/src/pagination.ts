import * as v from 'valibot';
import { BadRequest } from './errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

/** `?limit=&cursor=` as SPEC §0 defines them; invalid values are 400s (bad query parameter). */
export const pageQuery = {
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,3}$/, `must be an integer from 1 to ${MAX_LIMIT}`),
      v.transform(Number),
      v.minValue(1, `must be an integer from 1 to ${MAX_LIMIT}`),
      v.maxValue(MAX_LIMIT, `must be an integer from 1 to ${MAX_LIMIT}`),
    ),
    String(DEFAULT_LIMIT),
  ),
  cursor: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[A-Za-z0-9_-]{1,4096}$/, 'is not a valid cursor'),
      v.check((c) => decodeCursor(c) !== undefined, 'is not a valid cursor'),
    ),
  ),
};

/** Our cursors wrap the store's position in base64url JSON so callers treat them as opaque. */
export function encodeCursor(position: string | null | undefined): string | null {
  if (!position) return null;
  return Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { p?: unknown }).p === 'string') {
      return (parsed as { p: string }).p;
    }
  } catch {
    // fall through: not ours
  }
  return undefined;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * Lambda answers at most 6 MB. A page stops early, before its JSON passes this budget, and its
 * `next_cursor` continues after the last item it kept (always at least one item).
 */
export const RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024;

export function takeWithinBytes<T>(items: readonly T[], budgetBytes = RESPONSE_BUDGET_BYTES): T[] {
  const kept: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (kept.length > 0 && used + size > budgetBytes) break;
    kept.push(item);
    used += size;
  }
  return kept;
}

/**
 * Reads a position cursor: our own `sortValue|id` of the last item a page returned (never DynamoDB's
 * key), so a forged or foreign cursor is a 400, not a 500 from the store. `pattern` has two groups.
 */
export function readPosition(cursor: string | undefined, pattern: RegExp): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  const match = pattern.exec(decodeCursor(cursor) ?? '');
  if (!match?.[1] || !match[2]) {
    throw new BadRequest('Invalid request parameters.', { cursor: ['is not a valid cursor'] });
  }
  return [match[1], match[2]];
}
