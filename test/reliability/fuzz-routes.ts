import { randomUUID } from 'node:crypto';
import { toE164 } from '@svc/dispatch/phone';
import type { HttpRoute } from '@svc/platform/routes';
import fc from 'fast-check';
import { gateway, type Reply } from '../support/gateway.js';
import { waitUntil } from '../support/wait.js';
import { MARK } from './fuzz-inputs.js';

/** A well-formed request for a route, before the fuzzer adds noise or breaks it. Values are decoded. */
export interface Shape {
  path?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Replaces the route's default credentials (e.g. a user made for this request). */
  authorization?: string;
}

/** Whose credentials a request carries: the route's fixture caller, or a sandbox caller for broken requests. */
export type Caller = 'fixture' | 'sandbox';

export interface Example {
  shape: fc.Arbitrary<Shape>;
  /** Creates what one request acts on (a visit to cancel, a fresh account to delete), just before it is sent. */
  prepare?: (shape: Shape, caller: Caller) => Promise<Shape>;
  /** Status of the well-formed request when it is not a 2xx (no fixture can make it succeed). */
  expect?: number;
  /** An accepted request writes its marker to the table (the positive control of the leak check). */
  stores?: boolean;
}

export interface Account {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface SentSms {
  id: string;
  toNumber: string;
  callbackToken: string;
  providerMessageId: string;
}

/** Fixture calls retry the gateway's own timeout answers (500/503 without a request id): a loaded machine, not the fuzz. */
async function call(method: string, path: string, body?: unknown, authorization?: string): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await gateway(method, path, {
      ...(body !== undefined ? { body } : {}),
      ...(authorization ? { headers: { authorization } } : {}),
    });
    if ((reply.status !== 500 && reply.status !== 503) || reply.headers.get('x-request-id') || attempt === 3)
      return reply;
  }
}

function must(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status)
    throw new Error(`fixture ${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000) =>
  waitUntil(what, probe, timeoutMs);

/** Everything well-formed requests need to succeed; created on first use, unique to this run. */
export class Fixtures {
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(readonly tag: string) {}

  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let value = this.cache.get(key) as Promise<T> | undefined;
    if (!value) {
      value = make();
      this.cache.set(key, value);
    }
    return value;
  }

  jwt(scope: string, sub: string): Promise<string> {
    return this.once(`jwt:${scope}:${sub}`, async () => {
      const reply = must(await call('POST', '/__local/token', { scope, sub }), 200, 'local token');
      return reply.body.access_token as string;
    });
  }

  /** A visits account registered for this run (`fresh` skips the cache). */
  user(name: string, fresh = false): Promise<Account> {
    const make = async () => {
      const email = `${name}-${this.tag}-${randomUUID().slice(0, 8)}@fuzz.example`.toLowerCase();
      const password = `pw-${randomUUID()}`;
      const reply = must(
        await call('POST', '/api/auth/registration', {
          email,
          password,
          first_name: 'Fuzz',
          last_name: name,
        }),
        201,
        `register ${name}`,
      );
      const token = reply.body.data.access_token as string;
      const me = must(await call('GET', '/api/user', undefined, `Bearer ${token}`), 200, 'get user');
      return { id: me.body.data.id as string, email, password, token };
    };
    return fresh ? make() : this.once(`user:${name}`, make);
  }

  async visit(owner: Account, minutes = 1): Promise<string> {
    const reply = must(
      await call(
        'POST',
        '/api/visit',
        { date: futureDay(30), minutes, tasks: [{ name: 'fixture' }] },
        `Bearer ${owner.token}`,
      ),
      201,
      'request visit',
    );
    return reply.body.data.id as string;
  }

  /** The route's own credentials: a JWT with exactly its scopes, or a visits account per route. */
  async authorization(route: HttpRoute, caller: Caller): Promise<string | undefined> {
    if (route.auth.kind === 'jwt')
      return `Bearer ${await this.jwt(route.auth.scopes.join(' '), this.sub(caller))}`;
    if (route.auth.kind === 'service-token')
      return `Bearer ${(await this.user(accountName(route, caller))).token}`;
    return undefined;
  }

  sub(caller: Caller): string {
    return `fuzz-${caller}-${this.tag}`;
  }

  statsSession(): Promise<{ userId: string; courseId: string; sessionId: string }> {
    return this.once('stats', async () => {
      const ids = { userId: randomUUID(), courseId: randomUUID(), sessionId: randomUUID() };
      const body = { sessionId: ids.sessionId, totalModulesStudied: 3, averageScore: 80, timeStudied: 1000 };
      let reply = await gateway('POST', `/courses/${ids.courseId}`, {
        headers: { 'x-user-id': ids.userId },
        body,
      });
      if ((reply.status === 500 || reply.status === 503) && !reply.headers.get('x-request-id'))
        reply = await gateway('POST', `/courses/${ids.courseId}`, {
          headers: { 'x-user-id': ids.userId },
          body,
        });
      must(reply, 201, 'stats session');
      return ids;
    });
  }

  assistanceRequest(): Promise<string> {
    return this.once('assistance', async () => {
      const token = await this.jwt('request-assistance', this.sub('fixture'));
      const reply = must(
        await call('POST', '/assistance', { topic: 'pricing', description: 'fixture' }, `Bearer ${token}`),
        202,
        'assistance request',
      );
      return reply.body.id as string;
    });
  }

  /** A message a provider accepted, with the signed callback token and the provider message id it was given. */
  sms(): Promise<SentSms> {
    return this.once('sms', async () => {
      const token = `Bearer ${await this.jwt('messages:send messages:read', this.sub('fixture'))}`;
      const toNumber = phoneNumbers[0] as string;
      const reply = must(
        await call('POST', '/messages', { to_number: toNumber, message: 'fixture' }, token),
        202,
        'sms',
      );
      const id = reply.body.id as string;
      const accepted = await until('a provider to accept the fixture sms', async () => {
        const outbox = await call('GET', '/__local/outbox');
        const calls = outbox.body.sms as { callback_url: string; status_code: number; message_id?: string }[];
        return calls.find((c) => c.callback_url.includes(id) && c.status_code === 200 && c.message_id);
      });
      const callbackToken = new URL(accepted.callback_url).searchParams.get('token') ?? '';
      return { id, toNumber, callbackToken, providerMessageId: accepted.message_id as string };
    });
  }
}

/** Each visits route gets its own accounts, so one route's budget use never starves another's. */
function accountName(route: HttpRoute, caller: Caller): string {
  return `${route.functionName}-${caller}`;
}

export function futureDay(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Valid US numbers in the shapes people type them. */
const phoneNumbers = Array.from(
  { length: 40 },
  (_, i) => `415${200 + i * 17}${String(1000 + i * 131).slice(-4)}`,
)
  .filter((n) => toE164(n) !== undefined)
  .slice(0, 20);

const phoneNumber = fc
  .tuple(fc.constantFrom(...phoneNumbers), fc.nat(3))
  .map(([n, style]) =>
    style === 0
      ? n
      : style === 1
        ? `+1${n}`
        : style === 2
          ? `(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`
          : `1.${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)}`,
  );

/** Non-blank text with the marker in it, within `max` UTF-16 units. */
const marked = (max: number) =>
  fc
    .string({ unit: 'binary', maxLength: Math.max(0, Math.floor((max - MARK.length - 2) / 2)) })
    .map((s) => `${s} ${MARK}`);

const limit = fc.option(fc.integer({ min: 1, max: 100 }).map(String), { nil: undefined });
const idempotencyKey = fc.option(fc.constant(`fz-${MARK}`), { nil: undefined });
const instant = (ms: number, zoned: boolean) => {
  const iso = new Date(ms).toISOString();
  return zoned ? iso.replace(/\.\d{3}Z$/, '+00:00') : iso;
};
const externalId = fc.stringMatching(/^[A-Za-z0-9._:@-]{1,64}$/);

const defined = (o: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));

/** Well-formed requests, by route function name. A route missing here is still fuzzed, only never well-formed. */
export function examples(fx: Fixtures): Record<string, Example> {
  const visitPath = (id: string): Shape => ({ path: { id } });
  return {
    VisitsRegister: {
      stores: true,
      shape: fc.record({
        body: fc.record({
          email: fc.constantFrom(`${MARK}@fuzz.example`, `${MARK}@Fuzz.EXAMPLE`, ` ${MARK}@fuzz.example `),
          password: fc.string({ unit: 'binary', minLength: 8, maxLength: 64 }).filter((p) => p.length >= 8),
          first_name: marked(100),
          last_name: fc
            .string({ unit: 'binary', minLength: 1, maxLength: 40 })
            .filter((s) => s.trim() !== ''),
        }),
      }),
    },
    VisitsStartSession: {
      shape: fc.constantFrom('exact', 'upper', 'padded').map((form) => ({ body: { form } })),
      prepare: async (shape) => {
        const account = await fx.user('session-owner');
        const form = (shape.body as { form: string }).form;
        const email =
          form === 'upper'
            ? account.email.toUpperCase()
            : form === 'padded'
              ? ` ${account.email} `
              : account.email;
        return { ...shape, body: { email, password: account.password } };
      },
    },
    VisitsUnregister: {
      shape: fc.constant({}),
      // Well-formed requests delete an account made for them; broken ones share one (which may be gone).
      prepare: async (shape, caller) =>
        caller === 'fixture'
          ? { ...shape, authorization: `Bearer ${(await fx.user('leaver', true)).token}` }
          : shape,
    },
    VisitsEndSession: {
      shape: fc.constant({}),
      // Well-formed requests log out a token made for them; broken ones share one (which may be revoked).
      prepare: async (shape, caller) =>
        caller === 'fixture'
          ? { ...shape, authorization: `Bearer ${(await fx.user('logout', true)).token}` }
          : shape,
    },
    VisitsGetUser: { shape: fc.constant({}) },
    VisitsRequestVisit: {
      stores: true,
      shape: fc.record({
        headers: idempotencyKey.map((k) => defined({ 'idempotency-key': k })),
        body: fc.record(
          {
            date: fc.integer({ min: 0, max: 3_000 }).map(futureDay),
            minutes: fc.integer({ min: 1, max: 2 }),
            tasks: fc.array(
              fc.record({ name: marked(200), description: marked(2_000) }, { requiredKeys: ['name'] }),
              { minLength: 1, maxLength: 3 },
            ),
          },
          { requiredKeys: ['date', 'minutes', 'tasks'] },
        ),
      }),
    },
    VisitsListVisits: {
      shape: fc
        .record({
          status: fc.option(fc.constantFrom('requested', 'completed', 'canceled'), { nil: undefined }),
          mine: fc.boolean(),
          limit,
        })
        .map((q) => ({
          query: defined({ status: q.status, limit: q.limit, member_id: q.mine ? 'SELF' : undefined }),
        })),
      prepare: async (shape, caller) => {
        if (shape.query?.member_id !== 'SELF') return shape;
        const self = await fx.user(`VisitsListVisits-${caller}`);
        return { ...shape, query: { ...shape.query, member_id: self.id } };
      },
    },
    VisitsGetVisit: {
      shape: fc.constant({}),
      prepare: async () =>
        visitPath(await fx.once('visit', async () => fx.visit(await fx.user('visit-owner')))),
    },
    VisitsCancelVisit: {
      shape: fc.constant({}),
      prepare: async (_, caller) => visitPath(await fx.visit(await fx.user(`VisitsCancelVisit-${caller}`))),
    },
    VisitsCompleteVisit: {
      shape: fc.constant({}),
      prepare: async () => visitPath(await fx.visit(await fx.user('complete-member'))),
    },
    VisitsRecordTransaction: {
      shape: idempotencyKey.map((k) => ({ headers: defined({ 'idempotency-key': k }) })),
      prepare: async (shape) => ({
        ...shape,
        ...visitPath(await fx.visit(await fx.user('transaction-member'))),
      }),
    },
    VisitsListTransactions: { shape: fc.record({ query: limit.map((l) => defined({ limit: l })) }) },

    TasksWebhook: {
      stores: true,
      shape: fc
        .record({
          ago: fc.integer({ min: 0, max: 86_400_000 }),
          zoned: fc.boolean(),
          content: marked(10_000),
          isCompleted: fc.boolean(),
          prefix: externalId,
        })
        .map((w) => ({
          body: {
            event: 'created',
            timestamp: instant(Math.floor((Date.now() - w.ago) / 1000) * 1000, w.zoned),
            metadata: {
              userId: `u-${MARK}`,
              id: `${w.prefix.slice(0, 40)}-${MARK}`,
              content: w.content,
              isCompleted: w.isCompleted,
            },
          },
        })),
    },
    TasksListReports: {
      shape: fc
        .record({ userId: fc.option(externalId, { nil: undefined }), limit })
        .map((q) => ({ query: defined(q) })),
    },
    // No report exists for a random id, and making one needs the shared scheduler: well-formed means 404.
    TasksGetReport: { expect: 404, shape: fc.uuid().map((id) => ({ path: { id } })) },
    // A random id is no task the fuzzer created (those end in the marker): well-formed means 404.
    TasksGetTask: { expect: 404, shape: externalId.map((id) => ({ path: { id: `${id}-none` } })) },
    TasksListUserTasks: {
      shape: fc
        .record({
          userId: externalId,
          status: fc.option(fc.constantFrom('open', 'completed', 'deleted', 'all'), { nil: undefined }),
          limit,
        })
        .map((q) => ({ path: { userId: q.userId }, query: defined({ status: q.status, limit: q.limit }) })),
    },
    TasksGetUserReport: {
      shape: fc
        .record({
          userId: externalId,
          spanSeconds: fc.integer({ min: 1, max: 31 * 86_400 }),
          ago: fc.integer({ min: 0, max: 400 * 86_400_000 }),
          zoned: fc.boolean(),
        })
        .map((r) => {
          const to = Math.floor((Date.now() - r.ago) / 1000) * 1000;
          return {
            path: { userId: r.userId },
            query: { from: instant(to - r.spanSeconds * 1000, r.zoned), to: instant(to, r.zoned) },
          };
        }),
    },

    StatsRecordSession: {
      stores: true,
      shape: fc.record({
        path: fc.record({ courseId: fc.uuid() }),
        headers: fc.record(
          {
            'x-user-id': fc.constantFrom(MARK, MARK.toUpperCase()),
            'idempotency-key': fc.constant(`fz-${MARK}`),
          },
          { requiredKeys: ['x-user-id'] },
        ),
        body: fc.record({
          sessionId: fc.uuid(),
          totalModulesStudied: fc.nat(1_000),
          // DynamoDB numbers stop at 1e-130, so the service refuses smaller non-zero scores (422).
          averageScore: fc.oneof(
            fc.integer({ min: 0, max: 100 }),
            fc.double({ min: 1e-100, max: 100, noNaN: true }),
          ),
          timeStudied: fc.nat(10_000_000),
        }),
      }),
    },
    StatsGetCourse: {
      shape: fc.constant({}),
      prepare: async () => {
        const s = await fx.statsSession();
        return { path: { courseId: s.courseId }, headers: { 'x-user-id': s.userId } };
      },
    },
    StatsGetSession: {
      shape: fc.constant({}),
      prepare: async () => {
        const s = await fx.statsSession();
        return { path: { courseId: s.courseId, sessionId: s.sessionId }, headers: { 'x-user-id': s.userId } };
      },
    },

    AssistanceRequest: {
      stores: true,
      shape: fc.record({
        headers: idempotencyKey.map((k) => defined({ 'idempotency-key': k })),
        body: fc.record({
          topic: fc.constantFrom('sales', 'pricing', 'SALES', ' Pricing '),
          description: marked(4_000),
        }),
      }),
    },
    AssistanceGet: {
      shape: fc.constant({}),
      prepare: async () => ({ path: { id: await fx.assistanceRequest() } }),
    },

    DispatchSendMessage: {
      stores: true,
      shape: fc.record({
        headers: idempotencyKey.map((k) => defined({ 'idempotency-key': k })),
        body: fc.record({
          to_number: phoneNumber,
          message: fc.string({ maxLength: 100 }).map((s) => `${s} ${MARK}`),
        }),
      }),
    },
    DispatchGetMessage: {
      shape: fc.constant({}),
      prepare: async () => ({ path: { id: (await fx.sms()).id } }),
    },
    DispatchListMessages: {
      shape: fc
        .record({ number: fc.boolean(), limit })
        .map((q) => ({ query: defined({ limit: q.limit, to_number: q.number ? 'SMS' : undefined }) })),
      prepare: async (shape) =>
        shape.query?.to_number === 'SMS'
          ? { ...shape, query: { ...shape.query, to_number: (await fx.sms()).toNumber } }
          : shape,
    },
    DispatchDeliveryStatus: {
      shape: fc.constantFrom('delivered', 'failed').map((status) => ({ body: { status } })),
      prepare: async (shape) => {
        const sms = await fx.sms();
        return {
          query: { token: sms.callbackToken },
          body: { ...(shape.body as object), message_id: sms.providerMessageId },
        };
      },
    },
  };
}
