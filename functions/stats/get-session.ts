import { httpHandler } from '@svc/platform';
import { getSession, Stats } from '@svc/stats';

export const handler = httpHandler(getSession, async ({ path, headers }) => ({
  status: 200,
  body: await Stats.getSession({ userId: headers['x-user-id'], courseId: path.courseId }, path.sessionId),
}));
