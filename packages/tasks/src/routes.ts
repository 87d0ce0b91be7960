import { ErrorBody } from '@svc/platform/openapi-shapes';
import {
  defineRoute,
  type QueueConsumer,
  type ScheduledJob,
  type ServiceDefinition,
} from '@svc/platform/routes';
import {
  ListReportsQuery,
  ReportDocument,
  ReportPage,
  ReportPath,
  TaskPage,
  TaskPath,
  TaskWithEvents,
  UserPath,
  UserTasksQuery,
  WebhookAccepted,
  WebhookInput,
  WindowQuery,
} from './schemas.js';

/** The report schedule's name: EventBridge Scheduler's schedule and the local `/__local/schedules/{name}/run`. */
export const REPORT_SCHEDULE = 'task-reports';
/**
 * The planner's function timeout. A cursor still `planning` this long after its claim belongs to a run
 * that died before marking it (its claim time is the run's own clock, taken at its start).
 */
export const PLANNER_TIMEOUT_SECONDS = 60;
/** Logical name of the report fan-out queue (DLQ `task-reports-dlq`). */
export const REPORT_QUEUE = 'task-reports';
/** Logical SSM parameter holding the optional webhook signing secret. */
export const WEBHOOK_SECRET_PARAMETER = 'tasks-webhook-secret';

const readReports = { kind: 'jwt', scopes: ['tasks:read'] } as const;

export const receiveWebhook = defineRoute({
  method: 'POST',
  path: '/webhook',
  functionName: 'TasksWebhook',
  handler: 'functions/tasks/webhook.ts',
  summary: 'Receive a created/updated/deleted task event from the todo app',
  auth: { kind: 'signed' },
  request: { body: WebhookInput },
  responses: {
    202: WebhookAccepted,
    400: ErrorBody,
    401: ErrorBody,
    404: ErrorBody,
    409: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
  },
  access: { table: 'write', parameters: [WEBHOOK_SECRET_PARAMETER] },
});

export const listReports = defineRoute({
  method: 'GET',
  path: '/task-reports',
  functionName: 'TasksListReports',
  handler: 'functions/tasks/list-reports.ts',
  summary: 'Stored report summaries, newest first (optionally for one user)',
  auth: readReports,
  request: { query: ListReportsQuery },
  responses: { 200: ReportPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
  access: { table: 'read' },
});

export const getReport = defineRoute({
  method: 'GET',
  path: '/task-reports/{id}',
  functionName: 'TasksGetReport',
  handler: 'functions/tasks/get-report.ts',
  summary: 'One stored report document (303 to a presigned S3 URL when too large for a response)',
  auth: readReports,
  request: { path: ReportPath },
  responses: {
    200: ReportDocument,
    303: null,
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    404: ErrorBody,
  },
  access: { table: 'read', bucket: 'read' },
});

export const getUserReport = defineRoute({
  method: 'GET',
  path: '/users/{userId}/task-report',
  functionName: 'TasksGetUserReport',
  handler: 'functions/tasks/get-user-report.ts',
  summary: 'A report for any window of up to 31 days, computed on demand and not stored (422 above 4 MiB)',
  auth: readReports,
  request: { path: UserPath, query: WindowQuery },
  responses: { 200: ReportDocument, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody },
  access: { table: 'read' },
});

export const getTask = defineRoute({
  method: 'GET',
  path: '/tasks/{id}',
  functionName: 'TasksGetTask',
  handler: 'functions/tasks/get-task.ts',
  summary: 'One task with its audit trail: every webhook delivery, applied or not (the newest 1000)',
  auth: readReports,
  request: { path: TaskPath },
  responses: { 200: TaskWithEvents, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
  access: { table: 'read' },
});

export const listUserTasks = defineRoute({
  method: 'GET',
  path: '/users/{userId}/tasks',
  functionName: 'TasksListUserTasks',
  handler: 'functions/tasks/list-user-tasks.ts',
  summary: "One user's tasks, newest createdAt first, optionally only open, completed or deleted ones",
  auth: readReports,
  request: { path: UserPath, query: UserTasksQuery },
  responses: { 200: TaskPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
  access: { table: 'read' },
});

export const planReportsJob: ScheduledJob = {
  functionName: 'TasksPlanReports',
  handler: 'functions/tasks/plan-reports.ts',
  summary: 'Claim the next report window and enqueue its shard jobs (one per candidate shard)',
  schedule: REPORT_SCHEDULE,
  timeoutSeconds: PLANNER_TIMEOUT_SECONDS,
  access: { table: 'write', sendsTo: [REPORT_QUEUE] },
};

export const generateReportConsumer: QueueConsumer = {
  functionName: 'TasksGenerateReport',
  handler: 'functions/tasks/generate-report.ts',
  summary:
    "Build one user's report for a window (store in S3, index it), or run a planner shard job (enqueue a shard's candidates)",
  queue: REPORT_QUEUE,
  batchSize: 10,
  timeoutSeconds: 60,
  access: { table: 'write', bucket: 'write', sendsTo: [REPORT_QUEUE] },
};

export const tasksService: ServiceDefinition = {
  name: 'tasks',
  routes: [receiveWebhook, listReports, getReport, getUserReport, getTask, listUserTasks],
  consumers: [generateReportConsumer],
  schedules: [planReportsJob],
  queues: [REPORT_QUEUE],
};
