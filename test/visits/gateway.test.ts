import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gateway, type Reply } from '../support/gateway.js';
import { futureDate, visitInput } from './support/accounts.js';
import { assertInvariants, type Snapshot, tally } from './support/invariants.js';

/**
 * End to end through the local gateway (`pnpm dev`'s HTTP API): real routes from the route table,
 * API Gateway v2 events, the real handlers, the local Parameter Store secret and DynamoDB Local.
 */
const base = process.env.LOCAL_GATEWAY_URL;

/** `token` is the whole Authorization value: the visits API accepts `Bearer <t>` and the bare token. */
const http = (
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Reply> =>
  gateway(method, path, {
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.token ? { headers: { authorization: options.token } } : {}),
  });

interface Account {
  id: string;
  bearer: string;
  email: string;
}

async function signUp(): Promise<Account> {
  const email = `gw-${randomUUID()}@example.com`;
  const res = await http('POST', '/api/auth/registration', {
    body: { email, password: 'correct horse battery', first_name: 'Gate', last_name: 'Way' },
  });
  expect(res.status).toBe(201);
  const bearer = `Bearer ${res.body.data.access_token}`;
  const me = await http('GET', '/api/user', { token: bearer });
  return { id: me.body.data.id, bearer, email };
}

const kindOf = (status: number) =>
  status < 300 ? 'ok' : status === 422 ? 'validation' : status === 409 ? 'conflict' : String(status);

async function snapshot(
  users: { account: Account; initial: number }[],
  visitIds: string[],
): Promise<Snapshot> {
  const [balances, visits, ledgers] = await Promise.all([
    Promise.all(users.map(({ account }) => http('GET', '/api/user', { token: account.bearer }))),
    Promise.all(
      visitIds.map((id) => http('GET', `/api/visit/${id}`, { token: users[0]?.account.bearer ?? '' })),
    ),
    Promise.all(
      users.map(({ account }) => http('GET', '/api/transactions?limit=100', { token: account.bearer })),
    ),
  ]);
  return {
    users: balances.map((b, i) => ({
      id: b.body.data.id,
      initial: users[i]?.initial ?? 0,
      minutes: b.body.data.minutes,
      reserved: b.body.data.reserved_minutes,
      available: b.body.data.available_minutes,
    })),
    visits: visits.map((v) => v.body.data),
    transactions: ledgers.flatMap((l) => l.body.data),
  };
}

describe.skipIf(!base)('visits through the local gateway', { timeout: 90_000 }, () => {
  it('walks through register → request → complete by another user → transactions', async () => {
    const member = await signUp();
    const visit = await http('POST', '/api/visit', {
      token: member.bearer,
      body: visitInput(30, futureDate(2)),
    });
    expect(visit.status).toBe(201);
    expect(visit.headers.get('x-request-id')).toBeTruthy();

    const pal = await signUp();
    const open = await http('GET', `/api/visit?status=requested&member_id=${member.id}`, {
      token: pal.bearer,
    });
    expect(open.body.data.map((v: { id: string }) => v.id)).toEqual([visit.body.data.id]);

    // The bare token works too (legacy clients).
    const done = await http('PUT', `/api/visit/${visit.body.data.id}/complete`, {
      token: pal.bearer.replace(/^Bearer /, ''),
    });
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({
      transaction: { minutes: 30, pal_credit: 26, fee: 4 },
      member: { id: member.id, minutes: 90 },
      pal: { id: pal.id, minutes: 146 },
    });
    const again = await http('POST', `/api/visit/${visit.body.data.id}/transaction`, { token: pal.bearer });
    expect(again.status).toBe(409);

    for (const who of [member, pal]) {
      const list = await http('GET', '/api/transactions', { token: who.bearer });
      expect(list.body).toEqual({ data: [done.body.data.transaction], next_cursor: null });
    }
  });

  it('answers 401 "Not authenticated" in the error envelope, and a deleted account’s token stops working', async () => {
    const missing = await http('GET', '/api/user');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ status: 401, message: 'Not authenticated' });
    const user = await signUp();
    expect((await http('DELETE', '/api/auth/registration', { token: user.bearer })).status).toBe(204);
    expect((await http('GET', '/api/user', { token: user.bearer })).status).toBe(401);
  });

  it('keeps every invariant under concurrent HTTP traffic', async () => {
    // 30 simultaneous requests against one budget.
    const member = await signUp();
    const requests = await Promise.all(
      Array.from({ length: 30 }, () =>
        http('POST', '/api/visit', { token: member.bearer, body: visitInput(7) }),
      ),
    );
    const counts = tally(requests.map((r) => kindOf(r.status)));
    expect(
      Object.keys(counts).every((k) => ['ok', 'validation', 'conflict'].includes(k)),
      JSON.stringify(counts),
    ).toBe(true);
    const accepted = requests.filter((r) => r.status === 201).map((r) => r.body.data.id as string);
    expect(accepted.length * 7).toBeLessThanOrEqual(120);
    if (!counts.conflict) expect(accepted.length).toBe(17);

    // 5 pals racing for one visit.
    const pals = await Promise.all(Array.from({ length: 5 }, () => signUp()));
    const target = accepted[0] ?? '';
    const races = await Promise.all(
      pals.map((p) => http('PUT', `/api/visit/${target}/complete`, { token: p.bearer })),
    );
    expect(tally(races.map((r) => kindOf(r.status)))).toEqual({ ok: 1, conflict: 4 });

    // A mix: completions, cancellations and new requests at once.
    const mix = await Promise.all([
      ...accepted
        .slice(1, 9)
        .map((id, i) => http('PUT', `/api/visit/${id}/complete`, { token: pals[i % 5]?.bearer ?? '' })),
      ...accepted.slice(5, 13).map((id) => http('DELETE', `/api/visit/${id}`, { token: member.bearer })),
      ...Array.from({ length: 6 }, () =>
        http('POST', '/api/visit', { token: member.bearer, body: visitInput(9) }),
      ),
    ]);
    expect(
      mix.every((r) => r.status < 500),
      JSON.stringify(tally(mix.map((r) => String(r.status)))),
    ).toBe(true);
    const created = mix.filter((r) => r.status === 201).map((r) => r.body.data.id as string);

    assertInvariants(
      await snapshot(
        [{ account: member, initial: 120 }, ...pals.map((account) => ({ account, initial: 120 }))],
        [...accepted, ...created],
      ),
    );
  });
});
