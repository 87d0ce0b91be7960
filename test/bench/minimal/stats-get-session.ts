import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, refuse, reply, TABLE } from './shared.js';
import { courseOf, coursePk, sessionOf, sessionSk } from './stats-shared.js';

export const handler = async (event: Event) => {
  const course = courseOf(event, 'sessionId');
  if ('statusCode' in course) return course;
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: {
        pk: coursePk(course.userId, course.courseId),
        sk: sessionSk(event.pathParameters?.sessionId ?? ''),
      },
      ConsistentRead: true,
    }),
  );
  if (!Item) return refuse(event, 404, 'Session not found.');
  return reply(200, sessionOf(Item));
};
