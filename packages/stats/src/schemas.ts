import { uuid } from '@svc/platform';
import * as v from 'valibot';

export const CoursePath = v.object({ courseId: uuid('courseId') });
export const SessionPath = v.object({ courseId: uuid('courseId'), sessionId: uuid('sessionId') });
export const UserHeaders = v.object({ 'x-user-id': uuid('X-User-Id header') });

/**
 * Upper bounds that keep every stored figure and every running sum an exact JSON number: the lifetime
 * Σ(score × modules) is at most 100 × Σ modules, so modules stop at MAX_SAFE_INTEGER / 100.
 */
export const MAX_MODULES = Math.floor(Number.MAX_SAFE_INTEGER / 100);
export const MAX_TIME_STUDIED = Number.MAX_SAFE_INTEGER;
/** DynamoDB cannot store a non-zero number smaller than this (it answers "Number underflow"). */
export const MIN_STORABLE_SCORE = 1e-130;

const nonNegativeInt = (what: string, max: number) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be an integer`),
    v.minValue(0, `${what} must be greater than or equal to 0`),
    v.maxValue(max, `${what} must be at most ${max}`),
  );

export const SessionInput = v.object({
  sessionId: uuid('sessionId'),
  totalModulesStudied: nonNegativeInt('totalModulesStudied', MAX_MODULES),
  averageScore: v.pipe(
    v.number('averageScore must be a number'),
    v.finite('averageScore must be a finite number'),
    v.minValue(0, 'averageScore must be between 0 and 100'),
    v.maxValue(100, 'averageScore must be between 0 and 100'),
    v.check((n) => n === 0 || n >= MIN_STORABLE_SCORE, 'averageScore must be 0 or at least 1e-130'),
  ),
  timeStudied: nonNegativeInt('timeStudied', MAX_TIME_STUDIED),
});
export type SessionInput = v.InferOutput<typeof SessionInput>;

export const Session = v.object({
  sessionId: v.string(),
  totalModulesStudied: v.number(),
  averageScore: v.number(),
  timeStudied: v.number(),
});
export type Session = v.InferOutput<typeof Session>;

export const CourseStats = v.object({
  totalModulesStudied: v.number(),
  averageScore: v.number(),
  timeStudied: v.number(),
});
export type CourseStats = v.InferOutput<typeof CourseStats>;
