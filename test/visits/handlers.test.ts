import { randomUUID } from 'node:crypto';
import { visitsDb } from '@svc/visits/entities';
import { hashPassword, scryptCost } from '@svc/visits/passwords';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEmf } from '../support/emf.js';
import { futureDate, uniqueEmail, visitInput } from './support/accounts.js';
import { forged, loadVisitsHandlers } from './support/handlers.js';

let api: Awaited<ReturnType<typeof loadVisitsHandlers>>['api'];
let stopSsm: () => Promise<void>;

beforeAll(async () => {
  const loaded = await loadVisitsHandlers();
  api = loaded.api;
  stopSsm = loaded.ssm.stop;
});
const emf = captureEmf();
afterAll(() => {
  emf.stop();
  return stopSsm();
});

const registration = (overrides: Record<string, unknown> = {}) => ({
  email: uniqueEmail(),
  password: 'correct horse battery',
  first_name: 'Ada',
  last_name: 'Lovelace',
  ...overrides,
});

/** Registers through the handler; returns the bearer header value and the user id. */
async function signUp(overrides: Record<string, unknown> = {}) {
  const body = registration(overrides);
  const res = await api.register(body);
  expect(res.status).toBe(201);
  const token: string = res.body.data.access_token;
  return {
    bearer: `Bearer ${token}`,
    token,
    id: decodeJwt(token).sub as string,
    email: body.email as string,
  };
}

const expectError = (res: { status: number; body: { error: Record<string, unknown> } }, status: number) => {
  expect(res.status).toBe(status);
  expect(res.body.error).toMatchObject({
    status,
    message: expect.any(String),
    request_id: expect.any(String),
  });
};

describe('POST /api/auth/registration', () => {
  it('creates the account and returns a 24 h token that works', async () => {
    const body = registration();
    const res = await api.register(body);
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBeTruthy();
    const { access_token, expires_at } = res.body.data;
    const expires = Date.parse(expires_at) - Date.now();
    expect(expires).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(expires).toBeLessThanOrEqual(24 * 3600_000);
    const me = await api.me(`Bearer ${access_token}`);
    expect(me.status).toBe(200);
    expect(me.body.data).toEqual({
      id: decodeJwt(access_token).sub,
      email: body.email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      minutes: 120,
      reserved_minutes: 0,
      available_minutes: 120,
    });
    expect(JSON.stringify(me.body)).not.toContain('scrypt');
  });

  it('answers 409 for an email already taken in any casing', async () => {
    const email = uniqueEmail('Case');
    await signUp({ email });
    const res = await api.register(registration({ email: email.toUpperCase() }));
    expectError(res, 409);
    expect(res.body.error.errors).toEqual({ email: ['has already been taken'] });
  });

  it('answers 422 listing every invalid field', async () => {
    const res = await api.register({
      email: 'not-an-email',
      password: 'short',
      first_name: ' ',
      last_name: 42,
    });
    expectError(res, 422);
    expect(res.body.error.message).toBe('Validation failed.');
    expect(Object.keys(res.body.error.errors).sort()).toEqual([
      'email',
      'first_name',
      'last_name',
      'password',
    ]);
    expect(res.body.error.errors.password).toEqual(['password must be at least 8 characters']);
  });

  it('answers 422 when fields are missing', async () => {
    const res = await api.register({});
    expectError(res, 422);
    expect(Object.keys(res.body.error.errors).sort()).toEqual([
      'email',
      'first_name',
      'last_name',
      'password',
    ]);
  });

  it.each([
    ['malformed JSON', '{"email":'],
    ['a JSON array', '[]'],
    ['an empty body', ''],
  ])('answers 400 for %s', async (_, raw) => {
    expectError(await api.register(raw, { 'content-type': 'application/json' }), 400);
  });

  it('answers 415 for another content type', async () => {
    expectError(await api.register(JSON.stringify(registration()), { 'content-type': 'text/plain' }), 415);
  });
});

describe('POST /api/auth/session', () => {
  it('logs in with the password, case-insensitively on the email', async () => {
    const user = await signUp();
    const res = await api.session({ email: user.email.toUpperCase(), password: 'correct horse battery' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.data.access_token).sub).toBe(user.id);
    expect((await api.me(res.body.data.access_token)).status).toBe(200);
  });

  it('hashes new passwords at the stage cost and rehashes a weaker stored hash at login', async () => {
    const user = await signUp();
    const stored = async () =>
      (await visitsDb().entities.user.get({ userId: user.id }).go({ consistent: true })).data?.passwordHash;
    // This runtime's cost (PASSWORD_SCRYPT_LOG2N=14); prod's is 2^17.
    expect(await stored()).toMatch(/^scrypt\$16384\$8\$1\$/);
    // A hash made before the cost was raised keeps working, and is replaced by the first right login.
    const old = await hashPassword('correct horse battery', scryptCost(12));
    await visitsDb().entities.user.patch({ userId: user.id }).set({ passwordHash: old }).go();
    expect((await api.session({ email: user.email, password: 'wrong password!' })).status).toBe(401);
    expect(await stored()).toBe(old);
    expect((await api.session({ email: user.email, password: 'correct horse battery' })).status).toBe(200);
    const upgraded = await stored();
    expect(upgraded).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect((await api.session({ email: user.email, password: 'correct horse battery' })).status).toBe(200);
    expect(await stored()).toBe(upgraded);
  });

  it('answers 401 with one message for a wrong password and an unknown email', async () => {
    const user = await signUp();
    const wrongPassword = await api.session({ email: user.email, password: 'wrong password!' });
    const unknown = await api.session({ email: uniqueEmail(), password: 'correct horse battery' });
    expectError(wrongPassword, 401);
    expectError(unknown, 401);
    expect(wrongPassword.body.error.message).toBe(unknown.body.error.message);
  });

  it.each([
    ['an email longer than any account can have', { email: `${'a'.repeat(3000)}@example.com` }, 'email'],
    ['a password longer than any account can have', { password: 'p'.repeat(1025) }, 'password'],
  ])('answers 422, not 500, for %s', async (_, override, field) => {
    const res = await api.session({ email: uniqueEmail(), password: 'correct horse battery', ...override });
    expectError(res, 422);
    expect(res.body.error.errors).toHaveProperty([field]);
  });

  it('answers 422 for a missing password', async () => {
    const res = await api.session({ email: uniqueEmail() });
    expectError(res, 422);
    expect(res.body.error.errors).toHaveProperty('password');
  });
});

describe('authentication of protected routes', () => {
  it('accepts Bearer and the bare token', async () => {
    const user = await signUp();
    expect((await api.me(user.bearer)).status).toBe(200);
    expect((await api.me(user.token)).status).toBe(200);
    expect((await api.me(`bearer ${user.token}`)).status).toBe(200);
  });

  const cases: [string, (userId: string) => Promise<string | undefined>][] = [
    ['no Authorization header', async () => undefined],
    ['an empty header', async () => ''],
    ['garbage', async () => 'Bearer not-a-token'],
    ['a Basic credential', async () => 'Basic dXNlcjpwYXNz'],
    ['an expired token', async (id) => `Bearer ${await forged.signed(id, { expiresIn: -120 })}`],
    [
      'a token signed with another secret',
      async (id) => `Bearer ${await forged.signed(id, { secret: 'z'.repeat(48) })}`,
    ],
    [
      'a token from another issuer',
      async (id) => `Bearer ${await forged.signed(id, { issuer: 'elsewhere' })}`,
    ],
    ['an unsigned token (alg none)', async (id) => `Bearer ${forged.unsigned(id)}`],
    [
      'a valid signature for an account that never existed',
      async () => `Bearer ${await forged.signed(randomUUID())}`,
    ],
  ];

  it.each(cases)('answers 401 "Not authenticated" for %s', async (_, make) => {
    const user = await signUp();
    const res = await api.me(await make(user.id));
    expectError(res, 401);
    expect(res.body.error.message).toBe('Not authenticated');
  });

  it('answers 401 on every protected route without a token, before looking at the input', async () => {
    const id = randomUUID();
    const results = await Promise.all([
      api.unregister(),
      api.me(),
      api.request(undefined, { nonsense: true }),
      api.list(undefined, { status: 'bogus' }),
      api.get(undefined, 'not-a-uuid'),
      api.cancel(undefined, id),
      api.complete(undefined, id),
      api.transaction(undefined, id),
      api.transactions(undefined),
    ]);
    for (const res of results) {
      expectError(res, 401);
      expect(res.body.error.message).toBe('Not authenticated');
    }
  });

  it("stops accepting a deleted account's token at once", async () => {
    const user = await signUp();
    const res = await api.unregister(user.bearer);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const after = await api.me(user.bearer);
    expectError(after, 401);
    expect(after.body.error.message).toBe('Not authenticated');
    expectError(await api.request(user.bearer, visitInput(5)), 401);
    // Logging in again is refused, and the email can be registered anew.
    expectError(await api.session({ email: user.email, password: 'correct horse battery' }), 401);
    expect((await api.register(registration({ email: user.email }))).status).toBe(201);
  });
});

describe('POST /api/visit', () => {
  it('requests a visit and reserves its minutes', async () => {
    const user = await signUp();
    const date = futureDate(3);
    const res = await api.request(user.bearer, {
      date,
      minutes: 30,
      tasks: [{ name: 'laundry', description: 'help with laundry' }, { name: 'tea' }],
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      member_id: user.id,
      date,
      minutes: 30,
      status: 'requested',
      tasks: [
        { id: expect.any(String), name: 'laundry', description: 'help with laundry' },
        { id: expect.any(String), name: 'tea', description: null },
      ],
      created_at: expect.any(String),
    });
    expect((await api.me(user.bearer)).body.data).toMatchObject({
      minutes: 120,
      reserved_minutes: 30,
      available_minutes: 90,
    });
  });

  it.each([
    ['minutes 0', { minutes: 0 }, 'minutes', 'must be greater than 0'],
    ['negative minutes', { minutes: -5 }, 'minutes', 'must be greater than 0'],
    ['fractional minutes', { minutes: 1.5 }, 'minutes', 'must be an integer'],
    ['minutes as a string', { minutes: '30' }, 'minutes', 'must be a number'],
    ['no tasks', { tasks: [] }, 'tasks', 'must have at least one task'],
    ['tasks missing', { tasks: undefined }, 'tasks', undefined],
    ['a task without a name', { tasks: [{ description: 'x' }] }, 'tasks.0.name', undefined],
    ['a task with a blank name', { tasks: [{ name: '   ' }] }, 'tasks.0.name', 'name is required'],
    ['a date in another format', { date: '10/10/2030' }, 'date', 'must be a date in YYYY-MM-DD format'],
    ['an impossible date', { date: '2030-02-30' }, 'date', 'must be a valid date'],
    ['a date in the past', { date: '2020-01-01' }, 'date', 'must be today or later'],
  ])('answers 422 for %s', async (_, override, field, message) => {
    const user = await signUp();
    const res = await api.request(user.bearer, { ...visitInput(10), ...override });
    expectError(res, 422);
    expect(res.body.error.errors).toHaveProperty([field]);
    if (message) expect(res.body.error.errors[field]).toContain(message);
    expect((await api.me(user.bearer)).body.data.reserved_minutes).toBe(0);
  });

  it('answers 422 "exceeds available minutes" beyond the balance minus open requests', async () => {
    const user = await signUp();
    expect((await api.request(user.bearer, visitInput(100))).status).toBe(201);
    const res = await api.request(user.bearer, visitInput(21));
    expectError(res, 422);
    expect(res.body.error.errors).toEqual({ minutes: ['exceeds available minutes'] });
    expect((await api.request(user.bearer, visitInput(20))).status).toBe(201);
  });

  it('replays a repeated Idempotency-Key and reserves once', async () => {
    const user = await signUp();
    const key = randomUUID();
    const body = visitInput(25);
    const first = await api.request(user.bearer, body, { 'idempotency-key': key });
    const repeat = await api.request(user.bearer, body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(repeat.status).toBe(201);
    expect(repeat.body).toEqual(first.body);
    expect((await api.me(user.bearer)).body.data.reserved_minutes).toBe(25);
    expectError(await api.request(user.bearer, visitInput(26), { 'idempotency-key': key }), 422);
  });

  it('answers 400 for a body that is not a JSON object and 415 for another content type', async () => {
    const user = await signUp();
    expectError(await api.request(user.bearer, '"text"', { 'content-type': 'application/json' }), 400);
    expectError(
      await api.request(user.bearer, JSON.stringify(visitInput(5)), { 'content-type': 'text/plain' }),
      415,
    );
  });
});

describe('GET /api/visit and /api/visit/{id}', () => {
  it('returns a visit by id, 404 for an unknown id and 400 for a non-UUID', async () => {
    const [member, pal] = await Promise.all([signUp(), signUp()]);
    const created = (await api.request(member.bearer, visitInput(10))).body.data;
    const res = await api.get(pal.bearer, created.id);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(created);
    expectError(await api.get(pal.bearer, randomUUID()), 404);
    const bad = await api.get(pal.bearer, 'visit-1');
    expectError(bad, 400);
    expect(bad.body.error.errors).toHaveProperty('id');
  });

  it('lists by member and status, soonest first, with a cursor', async () => {
    const member = await signUp();
    const user = await signUp();
    for (const days of [9, 3, 6]) await api.request(member.bearer, visitInput(5, futureDate(days)));
    const first = await api.list(user.bearer, { member_id: member.id, status: 'requested', limit: '2' });
    expect(first.status).toBe(200);
    expect(first.body.data.map((v: { date: string }) => v.date)).toEqual([futureDate(3), futureDate(6)]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await api.list(user.bearer, {
      member_id: member.id,
      status: 'requested',
      limit: '2',
      cursor: first.body.next_cursor,
    });
    expect(second.body).toEqual({
      data: [expect.objectContaining({ date: futureDate(9) })],
      next_cursor: null,
    });
  });

  it.each([
    ['an unknown status', { status: 'done' }, 'status'],
    ['a member_id that is not a UUID', { member_id: '42' }, 'member_id'],
    ['limit 0', { limit: '0' }, 'limit'],
    ['limit 101', { limit: '101' }, 'limit'],
    ['a forged cursor', { cursor: '!!!' }, 'cursor'],
    [
      'a cursor of ours with a foreign position',
      { cursor: Buffer.from('{"p":"x"}').toString('base64url') },
      'cursor',
    ],
  ])('answers 400 for %s', async (_, query, field) => {
    const user = await signUp();
    const res = await api.list(user.bearer, query);
    expectError(res, 400);
    expect(res.body.error.errors).toHaveProperty(field);
  });
});

describe('DELETE /api/visit/{id}', () => {
  it('cancels the caller’s requested visit and releases the reservation', async () => {
    const member = await signUp();
    const visit = (await api.request(member.bearer, visitInput(40))).body.data;
    const res = await api.cancel(member.bearer, visit.id);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: visit.id, status: 'canceled' });
    expect((await api.me(member.bearer)).body.data).toMatchObject({
      reserved_minutes: 0,
      available_minutes: 120,
    });
    expectError(await api.cancel(member.bearer, visit.id), 409);
  });

  it("answers 403 for someone else's visit, 404 for an unknown one, 400 for a bad id", async () => {
    const [member, other] = await Promise.all([signUp(), signUp()]);
    const visit = (await api.request(member.bearer, visitInput(10))).body.data;
    expectError(await api.cancel(other.bearer, visit.id), 403);
    expectError(await api.cancel(member.bearer, randomUUID()), 404);
    expectError(await api.cancel(member.bearer, 'x'), 400);
  });
});

describe('completing: PUT /api/visit/{id}/complete and POST /api/visit/{id}/transaction', () => {
  it('moves the minutes and records the transaction', async () => {
    const [member, pal] = await Promise.all([signUp(), signUp()]);
    const visit = (await api.request(member.bearer, visitInput(30))).body.data;
    const res = await api.complete(pal.bearer, visit.id);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      transaction: {
        id: expect.any(String),
        visit_id: visit.id,
        member_id: member.id,
        pal_id: pal.id,
        minutes: 30,
        pal_credit: 26,
        fee: 4,
        created_at: expect.any(String),
      },
      visit: { ...visit, status: 'completed', pal_id: pal.id, completed_at: expect.any(String) },
      member: { id: member.id, minutes: 90 },
      pal: { id: pal.id, minutes: 146 },
    });
    const list = await api.transactions(member.bearer);
    expect(list.body).toEqual({ data: [res.body.data.transaction], next_cursor: null });
  });

  it('answers the alias exactly like the PUT, and replays it for a repeated Idempotency-Key', async () => {
    const [member, pal] = await Promise.all([signUp(), signUp()]);
    const visit = (await api.request(member.bearer, visitInput(1))).body.data;
    const key = randomUUID();
    const res = await api.transaction(pal.bearer, visit.id, { 'idempotency-key': key });
    expect(res.status).toBe(200);
    expect(res.body.data.transaction).toMatchObject({ minutes: 1, pal_credit: 1, fee: 0 });
    const replay = await api.transaction(pal.bearer, visit.id, { 'idempotency-key': key });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(res.body);
    expectError(await api.transaction(pal.bearer, visit.id), 409);
    expect((await api.me(pal.bearer)).body.data.minutes).toBe(121);
  });

  it.each(['complete', 'transaction'] as const)(
    '%s: 403 own visit, 404 unknown, 409 twice, 409 canceled',
    async (route) => {
      const [member, pal] = await Promise.all([signUp(), signUp()]);
      const complete = (token: string, id: string) => api[route](token, id);
      const visit = (await api.request(member.bearer, visitInput(10))).body.data;
      expectError(await complete(member.bearer, visit.id), 403);
      expectError(await complete(pal.bearer, randomUUID()), 404);
      expectError(await complete(pal.bearer, 'nope'), 400);
      expect((await complete(pal.bearer, visit.id)).status).toBe(200);
      expectError(await complete(pal.bearer, visit.id), 409);
      const canceled = (await api.request(member.bearer, visitInput(10))).body.data;
      await api.cancel(member.bearer, canceled.id);
      expectError(await complete(pal.bearer, canceled.id), 409);
      expectError(await api.cancel(member.bearer, visit.id), 409);
    },
  );
});

describe('GET /api/transactions', () => {
  it('lists the caller’s transactions as member or pal, newest first, and checks its query', async () => {
    const [a, b] = await Promise.all([signUp(), signUp()]);
    const v1 = (await api.request(a.bearer, visitInput(10))).body.data;
    const t1 = (await api.complete(b.bearer, v1.id)).body.data.transaction;
    await new Promise((r) => setTimeout(r, 5));
    const v2 = (await api.request(b.bearer, visitInput(20))).body.data;
    const t2 = (await api.complete(a.bearer, v2.id)).body.data.transaction;
    const res = await api.transactions(a.token, { limit: '1' });
    expect(res.body.data).toEqual([t2]);
    const next = await api.transactions(a.token, { limit: '1', cursor: res.body.next_cursor });
    expect(next.body.data).toEqual([t1]);
    expectError(await api.transactions(a.token, { limit: 'ten' }), 400);
  });
});

describe('business metrics (EMF on stdout)', () => {
  it('count requested, completed and cancelled visits, the minutes moved and the fee minutes', async () => {
    const [member, pal] = await Promise.all([signUp(), signUp()]);
    emf.clear();
    const kept = (await api.request(member.bearer, visitInput(30))).body.data;
    const dropped = (await api.request(member.bearer, visitInput(10))).body.data;
    expect(emf.sum('VisitsRequested')).toBe(2);
    expect((await api.cancel(member.bearer, dropped.id)).status).toBe(200);
    // A second cancel is refused and counts nothing.
    expect((await api.cancel(member.bearer, dropped.id)).status).toBe(409);
    expect(emf.sum('VisitsCancelled')).toBe(1);
    expect((await api.complete(pal.bearer, kept.id)).status).toBe(200);
    expect(emf.sum('VisitsCompleted')).toBe(1);
    expect(emf.sum('MinutesMoved')).toBe(30);
    expect(emf.sum('FeeMinutes')).toBe(4);
    for (const name of [
      'VisitsRequested',
      'VisitsCancelled',
      'VisitsCompleted',
      'MinutesMoved',
      'FeeMinutes',
    ])
      for (const m of emf.find(name))
        expect(m).toMatchObject({ unit: 'Count', dimensions: { service: 'services' } });
    expect(emf.sum('ApiRequests', { route: 'VisitsCancelVisit', outcome: 'client_error' })).toBe(1);
  });
});
