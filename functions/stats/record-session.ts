import { httpHandler } from '@svc/platform';
import { recordSession, Stats } from '@svc/stats';

export const handler = httpHandler(recordSession, async ({ path, headers, body }) => {
  const session = await Stats.recordSession({ userId: headers['x-user-id'], courseId: path.courseId }, body);
  return { status: 201, body: session };
});
