// Stats twins: the real ElectroDB items of packages/stats/src/entities.ts (service "stats").
import { type Event, type Reply, refuse } from './shared.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The partition of one user's course: sessions and the course aggregate (ElectroDB lowercases keys). */
export const coursePk = (userId: string, courseId: string) =>
  `$stats#userid_${userId}#courseid_${courseId}`.toLowerCase();
export const sessionSk = (sessionId: string) => `$session_1#sessionid_${sessionId}`.toLowerCase();
export const COURSE_STATS_SK = '$coursestats_1';

export interface Course {
  userId: string;
  courseId: string;
}

/** X-User-Id and the path ids must be UUIDs (the real route's 400). */
export function courseOf(event: Event, ...pathIds: string[]): Course | Reply {
  const userId = event.headers?.['x-user-id'] ?? '';
  const ids = ['courseId', ...pathIds].map((k) => event.pathParameters?.[k] ?? '');
  if (!UUID.test(userId) || !ids.every((id) => UUID.test(id)))
    return refuse(event, 400, 'Invalid request parameters.');
  return { userId, courseId: ids[0] as string };
}

export interface Session {
  sessionId: string;
  totalModulesStudied: number;
  averageScore: number;
  timeStudied: number;
}

export const sessionOf = (item: Record<string, unknown>): Session => ({
  sessionId: item.sessionId as string,
  totalModulesStudied: item.totalModulesStudied as number,
  averageScore: item.averageScore as number,
  timeStudied: item.timeStudied as number,
});
