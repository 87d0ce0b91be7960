import { dynamo } from '@svc/platform';
import { Entity, Service } from 'electrodb';

const table = () => dynamo();

/** One study session, keyed under its user and course so a user's sessions in a course share a partition. */
export const SessionEntity = new Entity({
  model: { service: 'stats', entity: 'session', version: '1' },
  attributes: {
    userId: { type: 'string', required: true },
    courseId: { type: 'string', required: true },
    sessionId: { type: 'string', required: true },
    totalModulesStudied: { type: 'number', required: true },
    averageScore: { type: 'number', required: true },
    timeStudied: { type: 'number', required: true },
    createdAt: { type: 'string', required: true, readOnly: true },
  },
  indexes: {
    byCourse: {
      pk: { field: 'pk', composite: ['userId', 'courseId'] },
      sk: { field: 'sk', composite: ['sessionId'] },
    },
  },
});

/**
 * The running lifetime aggregate of one user in one course. `weightedScoreSum` is Σ(score × modules),
 * so the module-weighted average is one division at read time and a read is one GetItem.
 */
export const CourseStatsEntity = new Entity({
  model: { service: 'stats', entity: 'courseStats', version: '1' },
  attributes: {
    userId: { type: 'string', required: true },
    courseId: { type: 'string', required: true },
    sessions: { type: 'number' },
    modules: { type: 'number' },
    weightedScoreSum: { type: 'number' },
    timeStudied: { type: 'number' },
  },
  indexes: {
    byCourse: {
      pk: { field: 'pk', composite: ['userId', 'courseId'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

let service: ReturnType<typeof createService> | undefined;

function createService() {
  const { client, table: name } = table();
  return new Service({ session: SessionEntity, courseStats: CourseStatsEntity }, { client, table: name });
}

/** The stats ElectroDB service, bound to the shared client on first use (once per container). */
export function statsDb() {
  service ??= createService();
  return service;
}
