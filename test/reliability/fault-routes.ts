import { randomUUID } from 'node:crypto';

/** One HTTP call, as a client would make it (served in-process by the fault harness). */
export interface Call {
  method: string;
  path: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  body: any;
}

/** What the fault matrix needs to reach every route with a request that is valid and touches the table. */
export interface Seed {
  tokens: { assistance: string; send: string; read: string; tasks: string };
  stats: { userId: string; courseId: string; sessionId: string };
  visits: {
    email: string;
    password: string;
    member: string;
    pal: string;
    leaving: string;
    /** A second session of the member's, for logout (revoking it leaves `member` valid). */
    loggingOut: string;
    /** Requested visits: one to read and cancel, one to complete, one for the transaction alias. */
    open: string;
    toComplete: string;
    toRecord: string;
  };
  tasksUser: string;
  assistanceId: string;
  messageId: string;
  toNumber: string;
  /** Path and query of the signed callback URL the sender gave the provider. */
  callbackPath: string;
  providerMessageId: string;
}

export interface RouteCall {
  call: Call;
  /** Status once DynamoDB answers normally. */
  ok: number;
  /** Its success uses up its credential (logout revokes the token), so it cannot be repeated as is. */
  once?: true;
}

const today = () => new Date().toISOString().slice(0, 10);
const key = () => ({ 'idempotency-key': randomUUID() });

/**
 * A fresh valid request per route (by function name), each reaching DynamoDB. A POST that creates
 * something carries an Idempotency-Key when `withKeys`, so a retry after the fault is the same request.
 */
export function routeCalls(seed: Seed, withKeys: boolean): Record<string, () => RouteCall> {
  const k = () => (withKeys ? key() : {});
  const { stats, visits, tokens } = seed;
  const statsHeaders = { 'x-user-id': stats.userId };
  return {
    StatsRecordSession: () => ({
      call: {
        method: 'POST',
        path: `/courses/${stats.courseId}`,
        headers: { ...statsHeaders, ...k() },
        body: { sessionId: randomUUID(), totalModulesStudied: 2, averageScore: 50, timeStudied: 1000 },
      },
      ok: 201,
    }),
    StatsGetCourse: () => ({
      call: { method: 'GET', path: `/courses/${stats.courseId}`, headers: statsHeaders },
      ok: 200,
    }),
    StatsGetSession: () => ({
      call: {
        method: 'GET',
        path: `/courses/${stats.courseId}/sessions/${stats.sessionId}`,
        headers: statsHeaders,
      },
      ok: 200,
    }),
    VisitsRegister: () => ({
      call: {
        method: 'POST',
        path: '/api/auth/registration',
        body: {
          email: `fault-${randomUUID()}@example.com`,
          password: 'correct horse',
          first_name: 'F',
          last_name: 'Ault',
        },
      },
      ok: 201,
    }),
    VisitsStartSession: () => ({
      call: {
        method: 'POST',
        path: '/api/auth/session',
        body: { email: visits.email, password: visits.password },
      },
      ok: 200,
    }),
    VisitsUnregister: () => ({
      call: { method: 'DELETE', path: '/api/auth/registration', token: visits.leaving },
      ok: 204,
    }),
    VisitsGetUser: () => ({ call: { method: 'GET', path: '/api/user', token: visits.member }, ok: 200 }),
    VisitsEndSession: () => ({
      call: { method: 'DELETE', path: '/api/auth/session', token: visits.loggingOut },
      ok: 204,
      once: true,
    }),
    VisitsRequestVisit: () => ({
      call: {
        method: 'POST',
        path: '/api/visit',
        token: visits.member,
        headers: k(),
        body: { date: today(), minutes: 1, tasks: [{ name: 'groceries' }] },
      },
      ok: 201,
    }),
    VisitsListVisits: () => ({
      call: { method: 'GET', path: '/api/visit?status=requested', token: visits.pal },
      ok: 200,
    }),
    VisitsGetVisit: () => ({
      call: { method: 'GET', path: `/api/visit/${visits.open}`, token: visits.pal },
      ok: 200,
    }),
    VisitsCancelVisit: () => ({
      call: { method: 'DELETE', path: `/api/visit/${visits.open}`, token: visits.member },
      ok: 200,
    }),
    VisitsCompleteVisit: () => ({
      call: { method: 'PUT', path: `/api/visit/${visits.toComplete}/complete`, token: visits.pal },
      ok: 200,
    }),
    VisitsRecordTransaction: () => ({
      call: {
        method: 'POST',
        path: `/api/visit/${visits.toRecord}/transaction`,
        token: visits.pal,
        headers: k(),
      },
      ok: 200,
    }),
    VisitsListTransactions: () => ({
      call: { method: 'GET', path: '/api/transactions', token: visits.member },
      ok: 200,
    }),
    TasksWebhook: () => ({
      call: {
        method: 'POST',
        path: '/webhook',
        body: {
          event: 'created',
          timestamp: new Date().toISOString(),
          metadata: { userId: seed.tasksUser, id: randomUUID(), content: 'write tests', isCompleted: false },
        },
      },
      ok: 202,
    }),
    TasksListReports: () => ({
      call: { method: 'GET', path: `/task-reports?userId=${seed.tasksUser}`, token: tokens.tasks },
      ok: 200,
    }),
    TasksGetReport: () => ({
      call: { method: 'GET', path: `/task-reports/${randomUUID()}`, token: tokens.tasks },
      ok: 404,
    }),
    TasksGetTask: () => ({
      call: { method: 'GET', path: `/tasks/${randomUUID()}`, token: tokens.tasks },
      ok: 404,
    }),
    TasksListUserTasks: () => ({
      call: { method: 'GET', path: `/users/${seed.tasksUser}/tasks`, token: tokens.tasks },
      ok: 200,
    }),
    TasksGetUserReport: () => {
      const to = new Date();
      const from = new Date(to.getTime() - 86_400_000);
      return {
        call: {
          method: 'GET',
          path: `/users/${seed.tasksUser}/task-report?from=${from.toISOString()}&to=${to.toISOString()}`,
          token: tokens.tasks,
        },
        ok: 200,
      };
    },
    AssistanceRequest: () => ({
      call: {
        method: 'POST',
        path: '/assistance',
        token: tokens.assistance,
        headers: k(),
        body: { topic: 'sales', description: 'a quote under faults' },
      },
      ok: 202,
    }),
    AssistanceGet: () => ({
      call: { method: 'GET', path: `/assistance/${seed.assistanceId}`, token: tokens.assistance },
      ok: 200,
    }),
    DispatchSendMessage: () => ({
      call: {
        method: 'POST',
        path: '/messages',
        token: tokens.send,
        headers: k(),
        body: { to_number: seed.toNumber, message: 'sent under faults' },
      },
      ok: 202,
    }),
    DispatchGetMessage: () => ({
      call: { method: 'GET', path: `/messages/${seed.messageId}`, token: tokens.read },
      ok: 200,
    }),
    DispatchListMessages: () => ({
      call: {
        method: 'GET',
        path: `/messages?to_number=${encodeURIComponent(seed.toNumber)}`,
        token: tokens.read,
      },
      ok: 200,
    }),
    DispatchDeliveryStatus: () => ({
      call: {
        method: 'POST',
        path: seed.callbackPath,
        body: { status: 'delivered', message_id: seed.providerMessageId },
      },
      ok: 200,
    }),
  };
}
