import type { EntityItem } from 'electrodb';
import type { TaskEntity } from './entities.js';
import type { Period, ReportDocument, ReportTask } from './schemas.js';

type TaskItem = EntityItem<typeof TaskEntity>;

/** A stored task as a report lists it. */
export const reportTask = (t: TaskItem): ReportTask => ({
  id: t.taskId,
  content: t.content,
  createdAt: t.createdAt,
  completedAt: t.completedAt ?? null,
});

const byCreated = (a: ReportTask, b: ReportTask) =>
  a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/**
 * A report's document from the user's open tasks (created by the window's end) and the window's completions.
 * The one place its sections are cut and ordered, so a full read and a carried-forward report (which gather
 * those tasks differently) give the same document.
 */
export function assembleReport(
  userId: string,
  period: Period,
  open: readonly ReportTask[],
  completed: readonly TaskItem[],
): ReportDocument {
  return {
    userId,
    period: { start: period.start, end: period.end },
    newIncompleteTasks: open
      .filter((t) => t.createdAt > period.start && t.createdAt <= period.end)
      .sort(byCreated),
    completedTasks: completed
      .filter(
        (t) => t.completedAt !== undefined && t.completedAt > period.start && t.completedAt <= period.end,
      )
      .map(reportTask)
      .sort((a, b) => (a.completedAt ?? '').localeCompare(b.completedAt ?? '') || a.id.localeCompare(b.id)),
    oldIncompleteTasks: open.filter((t) => t.createdAt <= period.start).sort(byCreated),
  };
}
