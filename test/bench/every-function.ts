// Repeatable invocations for every function of the registry, built through the services' own handlers,
// so `pnpm bench` can time each one with a request that does real work. A `make(n)` returns n event
// templates (JSON text, `__UUID__` replaced per call): one template for requests that can be repeated,
// n fresh ones for requests that consume what they act on (cancel, complete, unregister: `consumes`, so the
// bench asks for fewer of those).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '@svc/local/dynamodb';
import type { LocalRuntime } from '@svc/local/runtime';

type Event = Record<string, unknown> & {
  headers: Record<string, string>;
  routeKey?: string;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  rawPath?: string;
  rawQueryString?: string;
  body?: string;
};
type Reply = { statusCode?: number; body?: string };
export type Make = (n: number) => Promise<string[]>;

export interface EveryFunction {
  /** Templates per function name; a function missing here could not be prepared (see `problems`). */
  makers: Record<string, { make: Make; note: string; consumes?: true }>;
  /** The gateway requests of the load test (section 5), with the credentials made here. */
  load: { label: string; path: string; method: string; headers: Record<string, string>; body?: string }[];
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `only`: prepare just the services with a function in it (`pnpm bench --only`). */
export async function everyFunction(
  runtime: LocalRuntime,
  repo: string,
  only?: ReadonlySet<string>,
): Promise<EveryFunction> {
  const read = (file: string) => JSON.parse(readFileSync(join(repo, 'events', file), 'utf8')) as Event;
  const invoke = async (name: string, event: unknown) => (await runtime.invoke(name, event)) as Reply;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
  const bodyOf = (reply: Reply) => JSON.parse(reply.body ?? '{}') as Record<string, any>;
  const jwt = async (scope: string) => {
    const answer = await fetch(`${runtime.url}/__local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope, sub: `bench-${randomUUID()}` }),
    });
    return ((await answer.json()) as { access_token: string }).access_token;
  };
  /** A sample API event with its path, query, credentials and body replaced. */
  const api = (
    file: string,
    change: { token?: string; path?: Record<string, string>; query?: Record<string, string>; body?: unknown },
  ): Event => {
    const e = read(file);
    if (change.token) e.headers.authorization = `Bearer ${change.token}`;
    delete e.headers['idempotency-key'];
    if (change.path) {
      e.pathParameters = change.path;
      const template = (e.routeKey ?? '').split(' ')[1] ?? '';
      e.rawPath = template.replace(/\{(\w+)\}/g, (_, k: string) =>
        encodeURIComponent(change.path?.[k] ?? ''),
      );
      (e.requestContext as { http: { path: string } }).http.path = e.rawPath;
    }
    if (change.query) {
      e.queryStringParameters = change.query;
      e.rawQueryString = new URLSearchParams(change.query).toString();
    }
    if (change.body !== undefined) e.body = JSON.stringify(change.body);
    return e;
  };
  const once =
    (event: Event): Make =>
    async () => [JSON.stringify(event)];
  /** Sets an account's budget straight in the table (no route grants minutes). */
  const giveBudget = async (email: string, minutes: number) => {
    const client = new DynamoDBClient({
      endpoint: runtime.endpoints.dynamodb,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const doc = DynamoDBDocumentClient.from(client);
    try {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({
            TableName: runtime.tableName,
            FilterExpression: 'email = :e AND attribute_exists(available)',
            ExpressionAttributeValues: { ':e': email },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? [])
          await doc.send(
            new UpdateCommand({
              TableName: runtime.tableName,
              Key: { pk: item.pk, sk: item.sk },
              UpdateExpression: 'SET available = :m - reserved, minutes = :m',
              ExpressionAttributeValues: { ':m': minutes },
            }),
          );
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } finally {
      client.destroy();
    }
  };
  const makers: EveryFunction['makers'] = {};
  const load: EveryFunction['load'] = [];
  const problems: string[] = [];
  const json = { 'content-type': 'application/json' };
  const prepare = async (names: string[], build: () => Promise<void>) => {
    if (only && !names.some((n) => only.has(n))) return;
    try {
      await build();
    } catch (error) {
      problems.push(`- ${names.join(', ')}: could not be prepared (${(error as Error).message}).`);
      for (const n of names) delete makers[n];
    }
  };

  // ---- stats ----
  await prepare(['StatsRecordSession', 'StatsGetCourse', 'StatsGetSession'], async () => {
    const userId = randomUUID();
    const courseId = randomUUID();
    const session = { sessionId: randomUUID(), totalModulesStudied: 4, averageScore: 80, timeStudied: 1000 };
    const post = api('stats/record-session.json', { path: { courseId }, body: session });
    post.headers['x-user-id'] = userId;
    if ((await invoke('StatsRecordSession', post)).statusCode !== 201)
      throw new Error('session not recorded');
    const fresh = JSON.parse(JSON.stringify(post)) as Event;
    fresh.body = JSON.stringify({ ...session, sessionId: '__UUID__' });
    const course = api('stats/get-course-stats.json', { path: { courseId } });
    const one = api('stats/get-session.json', { path: { courseId, sessionId: session.sessionId } });
    course.headers['x-user-id'] = userId;
    one.headers['x-user-id'] = userId;
    makers.StatsRecordSession = { make: once(fresh), note: 'new session each call' };
    makers.StatsGetCourse = { make: once(course), note: '' };
    makers.StatsGetSession = { make: once(one), note: '' };
    load.push({
      label: 'GET /courses/{id}',
      path: `/courses/${courseId}`,
      method: 'GET',
      headers: { 'x-user-id': userId },
    });
  });

  // ---- visits ----
  const password = 'correct horse battery';
  const register = async () => {
    const email = `bench-${randomUUID()}@example.com`;
    const reply = await invoke(
      'VisitsRegister',
      api('visits/register.json', { body: { email, password, first_name: 'Bench', last_name: 'User' } }),
    );
    if (reply.statusCode !== 201) throw new Error(`register answered ${reply.statusCode}`);
    const token = bodyOf(reply).data.access_token as string;
    return { email, token };
  };
  const day = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  const visitBody = { date: day, minutes: 1, tasks: [{ name: 'laundry' }] };
  await prepare(
    [
      'VisitsRegister',
      'VisitsStartSession',
      'VisitsEndSession',
      'VisitsUnregister',
      'VisitsGetUser',
      'VisitsRequestVisit',
      'VisitsListVisits',
      'VisitsGetVisit',
      'VisitsCancelVisit',
      'VisitsCompleteVisit',
      'VisitsRecordTransaction',
      'VisitsListTransactions',
    ],
    async () => {
      // Fresh visits all come from one member whose budget no benchmark can spend (120 minutes to start).
      const requester = await register();
      await giveBudget(requester.email, 1_000_000_000);
      const newVisits = async (n: number) => {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          const reply = await invoke(
            'VisitsRequestVisit',
            api('visits/request-visit.json', { token: requester.token, body: visitBody }),
          );
          if (reply.statusCode !== 201) throw new Error(`request visit answered ${reply.statusCode}`);
          ids.push(bodyOf(reply).data.id as string);
        }
        return { ids, member: requester };
      };
      const owner = await newVisits(1);
      const pal = await register();
      // Another such member for the repeated requests and the load test.
      const rich = await register();
      await giveBudget(rich.email, 1_000_000_000);
      const requestVisit = api('visits/request-visit.json', { token: rich.token, body: visitBody });
      makers.VisitsRequestVisit = { make: once(requestVisit), note: 'reserves 1 minute each call' };
      load.push({
        label: 'POST /api/visit',
        path: '/api/visit',
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${rich.token}` },
        body: JSON.stringify(visitBody),
      });
      makers.VisitsRegister = {
        make: once(
          api('visits/register.json', {
            body: { email: 'bench-__UUID__@example.com', password, first_name: 'B', last_name: 'U' },
          }),
        ),
        note: 'new account each call (scrypt)',
      };
      makers.VisitsStartSession = {
        make: once(api('visits/start-session.json', { body: { email: owner.member.email, password } })),
        note: 'scrypt verify',
      };
      makers.VisitsEndSession = {
        make: async (n) => {
          const out: string[] = [];
          for (let i = 0; i < n; i++) {
            const login = await invoke(
              'VisitsStartSession',
              api('visits/start-session.json', { body: { email: owner.member.email, password } }),
            );
            const token = bodyOf(login).data.access_token as string;
            out.push(JSON.stringify(api('visits/end-session.json', { token })));
          }
          return out;
        },
        note: 'a fresh token each call (logout revokes it)',
        consumes: true,
      };
      makers.VisitsUnregister = {
        make: async (n) => {
          const out: string[] = [];
          for (let i = 0; i < n; i++)
            out.push(JSON.stringify(api('visits/unregister.json', { token: (await register()).token })));
          return out;
        },
        note: 'a fresh account each call',
        consumes: true,
      };
      makers.VisitsGetUser = {
        make: once(api('visits/get-user.json', { token: owner.member.token })),
        note: '',
      };
      makers.VisitsListVisits = {
        make: once(
          api('visits/list-visits.json', { token: pal.token, query: { status: 'requested', limit: '20' } }),
        ),
        note: '',
      };
      makers.VisitsGetVisit = {
        make: once(api('visits/get-visit.json', { token: pal.token, path: { id: owner.ids[0] ?? '' } })),
        note: '',
      };
      const perVisit =
        (file: string, who: 'member' | 'pal'): Make =>
        async (n) => {
          const { ids, member } = await newVisits(n);
          return ids.map((id) =>
            JSON.stringify(api(file, { token: who === 'member' ? member.token : pal.token, path: { id } })),
          );
        };
      makers.VisitsCancelVisit = {
        make: perVisit('visits/cancel-visit.json', 'member'),
        note: 'a fresh visit each call',
        consumes: true,
      };
      makers.VisitsCompleteVisit = {
        make: perVisit('visits/complete-visit.json', 'pal'),
        note: 'a fresh visit each call',
        consumes: true,
      };
      makers.VisitsRecordTransaction = {
        make: perVisit('visits/record-transaction.json', 'pal'),
        note: 'a fresh visit each call',
        consumes: true,
      };
      makers.VisitsListTransactions = {
        make: once(api('visits/list-transactions.json', { token: pal.token, query: { limit: '20' } })),
        note: '',
      };
    },
  );

  // ---- tasks ----
  await prepare(
    [
      'TasksWebhook',
      'TasksListReports',
      'TasksGetReport',
      'TasksGetUserReport',
      'TasksPlanReports',
      'TasksGenerateReport',
      'TasksGetTask',
      'TasksListUserTasks',
    ],
    async () => {
      const userId = `bench-${randomUUID()}`;
      const task = (id: string) => ({
        event: 'created',
        timestamp: new Date().toISOString(),
        metadata: { userId, id, content: 'Buy milk', isCompleted: false },
      });
      const taskId = randomUUID();
      const created = await invoke('TasksWebhook', api('tasks/webhook.json', { body: task(taskId) }));
      if (created.statusCode !== 202) throw new Error(`webhook answered ${created.statusCode}`);
      const token = await jwt('tasks:read');
      const end = new Date(Date.now() + 60_000).toISOString();
      const start = new Date(Date.now() - 3_600_000).toISOString();
      const job = { userId, start, end };
      const generate = read('tasks/generate-report.json');
      (generate.Records as { body: string }[])[0]!.body = JSON.stringify(job);
      await invoke('TasksGenerateReport', generate);
      const list = api('tasks/list-reports.json', { token, query: { userId, limit: '20' } });
      const listed = bodyOf(await invoke('TasksListReports', list));
      const reportId = (listed.data?.[0]?.id as string | undefined) ?? '';
      if (!reportId) throw new Error('no report to read');
      makers.TasksWebhook = {
        make: once(api('tasks/webhook.json', { body: task('__UUID__') })),
        note: 'new task each call',
      };
      makers.TasksListReports = { make: once(list), note: '' };
      makers.TasksGetTask = {
        make: once(api('tasks/get-task.json', { token, path: { id: taskId } })),
        note: 'task and its audit trail side by side',
      };
      makers.TasksListUserTasks = {
        make: once(api('tasks/list-user-tasks.json', { token, path: { userId }, query: { limit: '20' } })),
        note: 'status=all: three state partitions merged',
      };
      makers.TasksGetReport = {
        make: once(api('tasks/get-report.json', { token, path: { id: reportId } })),
        note: 'reads S3',
      };
      makers.TasksGetUserReport = {
        make: once(
          api('tasks/get-user-report.json', { token, path: { userId }, query: { from: start, to: end } }),
        ),
        note: 'computed on demand',
      };
      makers.TasksPlanReports = {
        make: once(read('tasks/plan-reports.json')),
        note: 'each call plans the window since the previous call',
      };
      makers.TasksGenerateReport = {
        make: once(generate),
        note: 'repeats one job: the idempotent path after the first',
      };
    },
  );

  // ---- assistance ----
  await prepare(
    ['AssistanceRequest', 'AssistanceGet', 'AssistanceDeliverSlack', 'AssistanceDeliverEmail'],
    async () => {
      const token = await jwt('request-assistance');
      const request = (topic: string) =>
        api('assistance/request-assistance.json', { token, body: { topic, description: 'bench' } });
      const sales = bodyOf(await invoke('AssistanceRequest', request('sales')));
      const pricing = bodyOf(await invoke('AssistanceRequest', request('pricing')));
      if (!sales.id || !pricing.id) throw new Error('assistance requests not accepted');
      const record = (file: string, body: unknown) => {
        const e = read(file);
        (e.Records as { body: string }[])[0]!.body = JSON.stringify(body);
        return e;
      };
      makers.AssistanceRequest = { make: once(request('sales')), note: 'stores and enqueues' };
      makers.AssistanceGet = {
        make: once(api('assistance/get-assistance-request.json', { token, path: { id: sales.id } })),
        note: '',
      };
      makers.AssistanceDeliverSlack = {
        make: once(record('assistance/deliver-slack.json', { requestId: sales.id, channel: 'slack' })),
        note: 'a delivered request again: the idempotent path',
      };
      makers.AssistanceDeliverEmail = {
        make: once(record('assistance/deliver-email.json', { requestId: pricing.id, channel: 'email' })),
        note: 'a delivered request again: the idempotent path',
      };
    },
  );

  // ---- dispatch ----
  await prepare(
    [
      'DispatchSendMessage',
      'DispatchGetMessage',
      'DispatchListMessages',
      'DispatchDeliveryStatus',
      'DispatchSender',
      'DispatchStatusCallbacks',
    ],
    async () => {
      const token = await jwt('messages:send messages:read');
      const message = { to_number: '+14155552671', message: 'bench' };
      makers.DispatchSendMessage = {
        make: once(api('dispatch/send-message.json', { token, body: message })),
        note: 'stores and enqueues (to a queue nobody consumes)',
      };
      load.push({
        label: 'POST /messages',
        path: '/messages',
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${token}` },
        body: JSON.stringify(message),
      });
      const toNumber = `+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`;
      const sent = bodyOf(
        await invoke(
          'DispatchSendMessage',
          api('dispatch/send-message.json', { token, body: { to_number: toNumber, message: 'bench' } }),
        ),
      );
      if (!sent.id) throw new Error('message not accepted');
      // The real pipeline sends it; the fake provider's call carries the signed callback URL.
      let callback: { callback_url: string; message_id?: string } | undefined;
      for (let i = 0; i < 100 && !callback; i++) {
        const outbox = (await (await fetch(`${runtime.url}/__local/outbox`)).json()) as {
          sms: { callback_url: string; message_id?: string; status_code: number }[];
        };
        callback = outbox.sms.find((c) => c.callback_url.includes(sent.id) && c.status_code === 200);
        if (!callback) await sleep(200);
      }
      if (!callback?.message_id) throw new Error('message never reached a provider');
      const url = new URL(callback.callback_url);
      const status = api('dispatch/delivery-status.json', {
        query: Object.fromEntries(url.searchParams),
        body: { status: 'delivered', message_id: callback.message_id },
      });
      const sender = read('dispatch/sender.json');
      (sender.Records as { body: string }[])[0]!.body = JSON.stringify({ id: sent.id });
      makers.DispatchGetMessage = {
        make: once(api('dispatch/get-message.json', { token, path: { id: sent.id } })),
        note: '',
      };
      makers.DispatchListMessages = {
        make: once(
          api('dispatch/list-messages.json', { token, query: { to_number: toNumber, limit: '20' } }),
        ),
        note: '',
      };
      makers.DispatchDeliveryStatus = {
        make: once(status),
        note: 'a repeated callback: verified, changes nothing',
      };
      makers.DispatchSender = { make: once(sender), note: 'an accepted message again: the claim refuses it' };
      const callbacks = read('dispatch/status-callbacks.json');
      (callbacks.Records as { body: string }[])[0]!.body = JSON.stringify({ id: sent.id });
      makers.DispatchStatusCallbacks = {
        make: once(callbacks),
        note: 'a message without status_callback_url: the lease write refuses it',
      };
    },
  );

  // ---- the API's $default route: a known path with another method (405 with Allow) ----
  await prepare(['ApiDefaultRoute'], async () => {
    makers.ApiDefaultRoute = { make: once(read('api/default-route.json')), note: 'PATCH on a GET path: 405' };
  });

  return { makers, load, problems };
}
