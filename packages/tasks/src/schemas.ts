import { named } from '@svc/platform/openapi-shapes';
import { pageQuery } from '@svc/platform/pagination';
import * as v from 'valibot';

/** The most a report window may span (on-demand reports), in milliseconds. */
export const MAX_WINDOW_MS = 31 * 24 * 60 * 60 * 1000;

export const WEBHOOK_EVENTS = ['created', 'updated', 'deleted'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/**
 * Ids from the todo app become part of DynamoDB keys and of S3 object names, so they are limited to
 * characters that are safe in both (no `#`, `/` or whitespace).
 */
const externalId = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.regex(/^[A-Za-z0-9._:@-]{1,128}$/, `${what} must be 1-128 characters of A-Z a-z 0-9 . _ : @ -`),
  );

/**
 * The calendar fields exist as written: `Date.parse` would quietly roll 2026-02-31 over to March 3
 * and 24:00 to the next day, storing a different instant from the one the sender meant.
 */
function isRealInstant(s: string): boolean {
  const [date = '', time = ''] = s.split(/t/i);
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi, sec = 0] = time
    .slice(0, 8)
    .split(':')
    .map((n) => Number.parseInt(n, 10)) as number[];
  const day = new Date(Date.UTC(y, mo - 1, d));
  day.setUTCFullYear(y);
  return (
    day.getUTCMonth() === mo - 1 &&
    day.getUTCDate() === d &&
    h !== undefined &&
    h <= 23 &&
    mi !== undefined &&
    mi <= 59 &&
    sec <= 59 &&
    !Number.isNaN(Date.parse(s))
  );
}

/** ISO 8601 with a zone (Z or ±hh:mm), normalised to UTC with milliseconds so strings sort by time. */
const instant = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.regex(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i,
      `${what} must be an ISO 8601 timestamp with a time zone`,
    ),
    v.check(isRealInstant, `${what} must be a valid timestamp`),
    v.transform((s) => new Date(s).toISOString()),
  );

export const UserId = externalId('userId');

/** A report fan-out message: one user and one window. */
export const ReportJobMessage = v.object({ userId: UserId, start: instant('start'), end: instant('end') });

/** A planner shard job: find and enqueue the candidates of one shard for one window. */
export const ShardJobMessage = v.object({
  kind: v.literal('shard'),
  schedule: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  shard: v.pipe(v.string(), v.regex(/^\d{1,4}$/)),
  start: instant('start'),
  end: instant('end'),
});

export const WebhookInput = named(
  'TaskWebhookEvent',
  v.object({
    // Any string parses here; a name other than created/updated/deleted is a 400 (SPEC §2), while a
    // missing or non-string event is a 422 like every other missing or mistyped field.
    event: v.pipe(v.string('event must be a string'), v.minLength(1, 'event must not be empty')),
    timestamp: instant('timestamp'),
    metadata: v.object(
      {
        userId: externalId('userId'),
        id: externalId('id'),
        content: v.pipe(
          v.string('content must be a string'),
          v.maxLength(10_000, 'content must be at most 10000 characters'),
        ),
        isCompleted: v.boolean('isCompleted must be a boolean'),
      },
      'metadata must be an object',
    ),
  }),
);
export type WebhookInput = v.InferOutput<typeof WebhookInput>;

/** The 202 body: `applied` is false for a redelivery, a repeat, or an event older than the last applied. */
export const WebhookAccepted = named(
  'TaskWebhookAccepted',
  v.object({ status: v.literal('accepted'), applied: v.boolean() }),
);

export const ReportTask = v.object({
  id: v.string(),
  content: v.string(),
  createdAt: v.string(),
  completedAt: v.nullable(v.string()),
});
export type ReportTask = v.InferOutput<typeof ReportTask>;

export const Period = v.object({ start: v.string(), end: v.string() });
export type Period = v.InferOutput<typeof Period>;

export const ReportDocument = named(
  'TaskReport',
  v.object({
    userId: v.string(),
    period: Period,
    newIncompleteTasks: v.array(ReportTask),
    completedTasks: v.array(ReportTask),
    oldIncompleteTasks: v.array(ReportTask),
  }),
);
export type ReportDocument = v.InferOutput<typeof ReportDocument>;

export const ReportCounts = v.object({
  newIncomplete: v.number(),
  completed: v.number(),
  oldIncomplete: v.number(),
});
export type ReportCounts = v.InferOutput<typeof ReportCounts>;

export const ReportSummary = v.object({
  id: v.string(),
  userId: v.string(),
  period: Period,
  counts: ReportCounts,
});
export type ReportSummary = v.InferOutput<typeof ReportSummary>;

export const ReportPage = named(
  'TaskReportPage',
  v.object({ data: v.array(ReportSummary), next_cursor: v.nullable(v.string()) }),
);

export const ListReportsQuery = v.object({ userId: v.optional(UserId), ...pageQuery });

export const ReportPath = v.object({
  id: v.pipe(v.string('id must be a string'), v.uuid('id must be a UUID')),
});

export const UserPath = v.object({ userId: UserId });

/** `from`/`to` are both required, from < to, and at most 31 days apart; every violation is a 400. */
export const WindowQuery = v.pipe(
  v.object({ from: instant('from'), to: instant('to') }),
  v.forward(
    v.check((q) => q.from < q.to, 'must be after from'),
    ['to'],
  ),
  v.forward(
    v.check(
      (q) => Date.parse(q.to) - Date.parse(q.from) <= MAX_WINDOW_MS,
      'must be at most 31 days after from',
    ),
    ['to'],
  ),
);

/** `GET /tasks/{id}`: the todo app's task id (task ids are global, see Tasks.getTaskWithEvents). */
export const TaskPath = v.object({ id: externalId('id') });

export const TASK_STATUSES = ['open', 'completed', 'deleted', 'all'] as const;
export type TaskStatusFilter = (typeof TASK_STATUSES)[number];

export const UserTasksQuery = v.object({
  status: v.optional(v.picklist(TASK_STATUSES, `status must be one of ${TASK_STATUSES.join(', ')}`), 'all'),
  ...pageQuery,
});

export const TaskView = v.object({
  id: v.string(),
  userId: v.string(),
  content: v.string(),
  isCompleted: v.boolean(),
  createdAt: v.string(),
  completedAt: v.nullable(v.string()),
  deletedAt: v.nullable(v.string()),
});
export type TaskView = v.InferOutput<typeof TaskView>;

/** One webhook delivery in a task's audit trail. */
export const TaskEventView = v.object({
  event: v.string(),
  timestamp: v.string(),
  received_at: v.string(),
  applied: v.boolean(),
});

/** At most 1000 deliveries (the newest by event timestamp), oldest first. */
export const TaskWithEvents = named(
  'TaskWithEvents',
  v.object({
    ...TaskView.entries,
    events: v.pipe(v.array(TaskEventView), v.maxLength(1000)),
  }),
);

export const TaskPage = named(
  'TaskPage',
  v.object({ data: v.array(TaskView), next_cursor: v.nullable(v.string()) }),
);
