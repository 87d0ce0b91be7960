import { Conflict, NotFound, retryContention, transactionCodes, ValidationFailed } from '@svc/platform';
import { statsDb } from './entities.js';
import {
  type CourseStats,
  MAX_MODULES,
  MAX_TIME_STUDIED,
  type Session,
  type SessionInput,
} from './schemas.js';

export interface CourseKey {
  userId: string;
  courseId: string;
}

const toSession = (s: Session): Session => ({
  sessionId: s.sessionId,
  totalModulesStudied: s.totalModulesStudied,
  averageScore: s.averageScore,
  timeStudied: s.timeStudied,
});

const sameSession = (a: Session, b: Session) =>
  a.totalModulesStudied === b.totalModulesStudied &&
  a.averageScore === b.averageScore &&
  a.timeStudied === b.timeStudied;

/** Module-weighted average; 0 when no modules were studied. Rounded to remove float noise. */
export function weightedAverage(weightedScoreSum: number, modules: number): number {
  if (modules <= 0) return 0;
  return Math.round((weightedScoreSum / modules) * 1e6) / 1e6;
}

/**
 * One session's share of Σ(score × modules), rounded to 6 decimals: a float product can carry digits far
 * below the aggregate's, and DynamoDB refuses a sum needing more than 38 significant digits. From 1e9 up
 * a double has no digits below 1e-7 anyway, and scaling it by 1e6 would no longer be exact.
 */
export function weightedContribution(input: SessionInput): number {
  const product = input.averageScore * input.totalModulesStudied;
  return product >= 1e9 ? product : Math.round(product * 1e6) / 1e6;
}

/**
 * Stores a session and adds it to the course aggregate in one transaction. The session put is
 * conditional on the session not existing, so a repeat of the same session is counted once:
 * an identical repeat returns the stored session, a different body for the same id is a conflict.
 */
export async function recordSession(key: CourseKey, input: SessionInput, now = new Date()): Promise<Session> {
  const db = statsDb();
  return retryContention(async () => {
    const outcome = await db.transaction
      .write(({ session, courseStats }) => [
        session.create({ ...key, ...input, createdAt: now.toISOString() }).commit(),
        courseStats
          .upsert(key)
          .add({
            sessions: 1,
            modules: input.totalModulesStudied,
            weightedScoreSum: weightedContribution(input),
            timeStudied: input.timeStudied,
          })
          // The lifetime sums must stay exact JSON numbers (see MAX_MODULES).
          .where(
            ({ modules, timeStudied }, { notExists, lte }) =>
              `(${notExists(modules)} OR ${lte(modules, MAX_MODULES - input.totalModulesStudied)}) AND ` +
              `(${notExists(timeStudied)} OR ${lte(timeStudied, MAX_TIME_STUDIED - input.timeStudied)})`,
          )
          .commit(),
      ])
      .go();
    const codes = transactionCodes(outcome);
    if (!codes) return toSession(input);
    if (codes[0] !== 'ConditionalCheckFailed') {
      if (codes[1] === 'ConditionalCheckFailed') throw await totalsOverflow(key, input);
      throw new Error(`unexpected cancellation: ${codes.join(',')}`);
    }
    const existing = await getSession(key, input.sessionId);
    if (!sameSession(existing, input)) {
      throw new Conflict('A different session with this sessionId was already recorded.');
    }
    return existing;
  });
}

/** The 422 for a session that would push a lifetime sum past its bound, naming the fields at fault. */
async function totalsOverflow(key: CourseKey, input: SessionInput): Promise<ValidationFailed> {
  const { data } = await statsDb().entities.courseStats.get(key).go({ consistent: true });
  const fields: Record<string, string[]> = {};
  if ((data?.modules ?? 0) + input.totalModulesStudied > MAX_MODULES) {
    fields.totalModulesStudied = [`the course total must stay at most ${MAX_MODULES}`];
  }
  if ((data?.timeStudied ?? 0) + input.timeStudied > MAX_TIME_STUDIED) {
    fields.timeStudied = [`the course total must stay at most ${MAX_TIME_STUDIED}`];
  }
  return new ValidationFailed(fields, 'The lifetime course totals would exceed the supported range.');
}

export async function getSession(key: CourseKey, sessionId: string): Promise<Session> {
  const { data } = await statsDb()
    .entities.session.get({ ...key, sessionId })
    .go({ consistent: true });
  if (!data) throw new NotFound('Session not found.');
  return toSession(data);
}

export async function getCourseStats(key: CourseKey): Promise<CourseStats> {
  // Strongly consistent: a client that just posted a session reads it back in the lifetime figures.
  const { data } = await statsDb().entities.courseStats.get(key).go({ consistent: true });
  if (!data?.sessions) throw new NotFound('No sessions recorded for this course.');
  const modules = data.modules ?? 0;
  return {
    totalModulesStudied: modules,
    averageScore: weightedAverage(data.weightedScoreSum ?? 0, modules),
    timeStudied: data.timeStudied ?? 0,
  };
}
