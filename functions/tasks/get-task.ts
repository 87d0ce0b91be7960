import { httpHandler } from '@svc/platform';
import { getTask, TaskReads } from '@svc/tasks';

export const handler = httpHandler(getTask, async ({ path }) => ({
  status: 200,
  body: await TaskReads.getTaskWithEvents(path.id),
}));
