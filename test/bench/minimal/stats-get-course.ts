import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, refuse, reply, TABLE } from './shared.js';
import { COURSE_STATS_SK, courseOf, coursePk } from './stats-shared.js';

export const handler = async (event: Event) => {
  const course = courseOf(event);
  if ('statusCode' in course) return course;
  // Strongly consistent, like the real read: a session just posted shows in the lifetime figures.
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: coursePk(course.userId, course.courseId), sk: COURSE_STATS_SK },
      ConsistentRead: true,
    }),
  );
  if (!Item?.sessions) return refuse(event, 404, 'No sessions recorded for this course.');
  const modules = Number(Item.modules ?? 0);
  const sum = Number(Item.weightedScoreSum ?? 0);
  return reply(200, {
    totalModulesStudied: modules,
    averageScore: modules > 0 ? Math.round((sum / modules) * 1e6) / 1e6 : 0,
    timeStudied: Number(Item.timeStudied ?? 0),
  });
};
