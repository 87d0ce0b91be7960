import { httpHandler } from '@svc/platform';
import { listUserTasks, TaskReads } from '@svc/tasks';

export const handler = httpHandler(listUserTasks, async ({ path, query }) => ({
  status: 200,
  body: await TaskReads.listUserTasks({ userId: path.userId, ...query }),
}));
