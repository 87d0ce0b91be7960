import * as v from 'valibot';
import type { FieldErrors } from './errors.js';

/** Valibot issues → `{ "field.path": ["message", ...] }` (root-level issues under `_`). */
export function fieldErrors(issues: readonly v.BaseIssue<unknown>[]): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of issues) {
    const key = v.getDotPath(issue) ?? '_';
    const list = out[key] ?? [];
    list.push(issue.message);
    out[key] = list;
  }
  return out;
}

/** Common schema pieces with caller-facing messages. */
export const uuid = (what = 'id') =>
  v.pipe(v.string(`${what} must be a string`), v.uuid(`${what} must be a UUID`));

export const isoDate = v.pipe(
  v.string('must be a date'),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date in YYYY-MM-DD format'),
  v.check(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    'must be a valid date',
  ),
);

export const isoTimestamp = v.pipe(
  v.string('must be a timestamp'),
  v.isoTimestamp('must be an ISO 8601 timestamp'),
);
