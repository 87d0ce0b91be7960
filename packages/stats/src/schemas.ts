import { uuid } from '@svc/platform';
import * as v from 'valibot';

export const CoursePath = v.object({ courseId: uuid('courseId') });
export const SessionPath = v.object({ courseId: uuid('courseId'), sessionId: uuid('sessionId') });
export const UserHeaders = v.object({ 'x-user-id': uuid('X-User-Id header') });

const nonNegativeInt = (what: string) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be an integer`),
    v.minValue(0, `${what} must be greater than or equal to 0`),
    v.maxValue(Number.MAX_SAFE_INTEGER, `${what} is too large`),
  );

export const SessionInput = v.object({
  sessionId: uuid('sessionId'),
  totalModulesStudied: nonNegativeInt('totalModulesStudied'),
  averageScore: v.pipe(
    v.number('averageScore must be a number'),
    v.finite('averageScore must be a finite number'),
    v.minValue(0, 'averageScore must be between 0 and 100'),
    v.maxValue(100, 'averageScore must be between 0 and 100'),
  ),
  timeStudied: nonNegativeInt('timeStudied'),
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
