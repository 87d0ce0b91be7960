import { defineRoute, type ServiceDefinition } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import { CoursePath, CourseStats, Session, SessionInput, SessionPath, UserHeaders } from './schemas.js';

export const recordSession = defineRoute({
  method: 'POST',
  path: '/courses/{courseId}',
  functionName: 'StatsRecordSession',
  handler: 'functions/stats/record-session.ts',
  summary: 'Record a study session and add it to the lifetime course stats',
  auth: { kind: 'public' },
  idempotent: true,
  request: { path: CoursePath, headers: UserHeaders, body: SessionInput },
  responses: { 201: Session, 400: ErrorBody, 409: ErrorBody, 415: ErrorBody, 422: ErrorBody },
  access: { table: 'write' },
});

export const getCourseStats = defineRoute({
  method: 'GET',
  path: '/courses/{courseId}',
  functionName: 'StatsGetCourse',
  handler: 'functions/stats/get-course-stats.ts',
  summary: 'Lifetime stats of the caller in a course',
  auth: { kind: 'public' },
  request: { path: CoursePath, headers: UserHeaders },
  responses: { 200: CourseStats, 400: ErrorBody, 404: ErrorBody },
  access: { table: 'read' },
});

export const getSession = defineRoute({
  method: 'GET',
  path: '/courses/{courseId}/sessions/{sessionId}',
  functionName: 'StatsGetSession',
  handler: 'functions/stats/get-session.ts',
  summary: 'One study session of the caller',
  auth: { kind: 'public' },
  request: { path: SessionPath, headers: UserHeaders },
  responses: { 200: Session, 400: ErrorBody, 404: ErrorBody },
  access: { table: 'read' },
});

export const statsService: ServiceDefinition = {
  name: 'stats',
  routes: [recordSession, getCourseStats, getSession],
};
