import { encodeCursor, NotFound, type Page, readPosition } from '@svc/platform';
import type { EntityItem } from 'electrodb';
import { MAX_TRAIL_EVENTS, trailOf } from './audit.js';
import { type TaskEntity, tasksDb } from './entities.js';
import type { TaskStatusFilter, TaskView } from './schemas.js';

type TaskItem = EntityItem<typeof TaskEntity>;
type State = Exclude<TaskStatusFilter, 'all'>;

const viewOf = (t: TaskItem): TaskView => ({
  id: t.taskId,
  userId: t.userId,
  content: t.content,
  isCompleted: t.isCompleted,
  createdAt: t.createdAt,
  completedAt: t.completedAt ?? null,
  deletedAt: t.deletedAt ?? null,
});

/**
 * A task with its audit trail. Task ids are global in this service (the table is keyed by the id alone
 * and the webhook refuses an id that belongs to another user with 409), so this is one GetItem on the
 * task's key plus one Query of the same partition, run side by side. The trail is bounded to the
 * newest MAX_TRAIL_EVENTS deliveries so the response stays far below Lambda's 6 MB.
 */
export async function getTaskWithEvents(taskId: string) {
  const [{ data: task }, events] = await Promise.all([
    tasksDb().entities.task.get({ taskId }).go(),
    trailOf(taskId, MAX_TRAIL_EVENTS),
  ]);
  if (!task) throw new NotFound('Task not found.');
  return { ...viewOf(task), events };
}

/** A list cursor is the last (createdAt, taskId) returned: the per-user index sorts by exactly that. */
const TASK_POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([A-Za-z0-9._:@-]{1,128})$/;

const newestFirst = (a: TaskItem, b: TaskItem) =>
  a.createdAt === b.createdAt
    ? a.taskId < b.taskId
      ? 1
      : a.taskId > b.taskId
        ? -1
        : 0
    : a.createdAt < b.createdAt
      ? 1
      : -1;

/**
 * One user's tasks, newest createdAt first. Each state is its own partition of the user's index
 * (`userId#state`), so a status filter is one exact Query and `all` merges the three (SPEC §8: nothing
 * outside the user's own keys is read).
 */
export async function listUserTasks(query: {
  userId: string;
  status: TaskStatusFilter;
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<TaskView>> {
  const position = readPosition(query.cursor, TASK_POSITION);
  const before = position && { createdAt: position[0], taskId: position[1] };
  const take = query.limit + 1;
  const states: State[] = query.status === 'all' ? ['open', 'completed', 'deleted'] : [query.status];
  const tasks = tasksDb().entities.task;
  const pages = await Promise.all(
    states.map(async (state) => {
      const base = tasks.query.byUserState({ userId: query.userId, state });
      return (await (before ? base.lt(before) : base).go({ order: 'desc', limit: take, count: take })).data;
    }),
  );
  const merged = pages.flat().sort(newestFirst).slice(0, take);
  const items = merged.slice(0, query.limit);
  const last = items.at(-1);
  return {
    data: items.map(viewOf),
    next_cursor:
      merged.length > query.limit && last ? encodeCursor(`${last.createdAt}|${last.taskId}`) : null,
  };
}
