import { httpHandler } from '@svc/platform';
import { getCourseStats, Stats } from '@svc/stats';

export const handler = httpHandler(getCourseStats, async ({ path, headers }) => ({
  status: 200,
  body: await Stats.getCourseStats({ userId: headers['x-user-id'], courseId: path.courseId }),
}));
