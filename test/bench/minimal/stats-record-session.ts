import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, refuse, reply, TABLE } from './shared.js';
import { COURSE_STATS_SK, courseOf, coursePk, type Session, sessionOf, sessionSk } from './stats-shared.js';

const MAX_MODULES = Math.floor(Number.MAX_SAFE_INTEGER / 100);
const MAX_TIME_STUDIED = Number.MAX_SAFE_INTEGER;

const codesOf = (error: unknown): string[] | undefined =>
  (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons?.map((r) => r.Code ?? 'None');

/**
 * The session put (only if new) and the ADD to the course aggregate, in one TransactWriteItems on the
 * real items; a repeat reads the stored session back (201 if identical, 409 if not).
 */
export const handler = async (event: Event) => {
  const course = courseOf(event);
  if ('statusCode' in course) return course;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(event.body ?? '');
  } catch {
    return refuse(event, 400, 'Request body is not valid JSON.');
  }
  const s = sessionOf(raw);
  const pk = coursePk(course.userId, course.courseId);
  const product = s.averageScore * s.totalModulesStudied;
  const weighted = product >= 1e9 ? product : Math.round(product * 1e6) / 1e6;
  const write = new TransactWriteCommand({
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: {
            ...course,
            ...s,
            createdAt: new Date().toISOString(),
            pk,
            sk: sessionSk(s.sessionId),
            __edb_e__: 'session',
            __edb_v__: '1',
          },
          ConditionExpression: 'attribute_not_exists(pk) AND attribute_not_exists(sk)',
        },
      },
      {
        Update: {
          TableName: TABLE,
          Key: { pk, sk: COURSE_STATS_SK },
          UpdateExpression:
            'SET #e = :e, #v = :v, userId = :u, courseId = :c ' +
            'ADD sessions :one, modules :m, weightedScoreSum :w, timeStudied :t',
          ConditionExpression:
            '(attribute_not_exists(modules) OR modules <= :maxM) AND ' +
            '(attribute_not_exists(timeStudied) OR timeStudied <= :maxT)',
          ExpressionAttributeNames: { '#e': '__edb_e__', '#v': '__edb_v__' },
          ExpressionAttributeValues: {
            ':e': 'courseStats',
            ':v': '1',
            ':u': course.userId,
            ':c': course.courseId,
            ':one': 1,
            ':m': s.totalModulesStudied,
            ':w': weighted,
            ':t': s.timeStudied,
            ':maxM': MAX_MODULES - s.totalModulesStudied,
            ':maxT': MAX_TIME_STUDIED - s.timeStudied,
          },
        },
      },
    ],
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(write);
      return reply(201, s);
    } catch (error) {
      const codes = codesOf(error);
      if (!codes) throw error;
      if (codes.includes('TransactionConflict')) {
        if (attempt >= 5)
          return refuse(event, 409, 'Too many concurrent changes to the same data, retry later.');
        await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** attempt));
        continue;
      }
      if (codes[0] === 'ConditionalCheckFailed') return repeated(event, pk, s);
      if (codes[1] === 'ConditionalCheckFailed')
        return refuse(event, 422, 'The lifetime course totals would exceed the supported range.');
      throw error;
    }
  }
};

async function repeated(event: Event, pk: string, s: Session) {
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: { pk, sk: sessionSk(s.sessionId) }, ConsistentRead: true }),
  );
  if (!Item) return refuse(event, 404, 'Session not found.');
  const stored = sessionOf(Item);
  const same =
    stored.totalModulesStudied === s.totalModulesStudied &&
    stored.averageScore === s.averageScore &&
    stored.timeStudied === s.timeStudied;
  if (!same) return refuse(event, 409, 'A different session with this sessionId was already recorded.');
  return reply(201, stored);
}
