import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handler as getCourse } from '../../functions/stats/get-course-stats.js';
import { handler as getSession } from '../../functions/stats/get-session.js';
import { handler as record } from '../../functions/stats/record-session.js';
import { apiEvent, invoke } from '../support/api-event.js';

const session = (overrides: Record<string, unknown> = {}) => ({
  sessionId: randomUUID(),
  totalModulesStudied: 4,
  averageScore: 80,
  timeStudied: 120000,
  ...overrides,
});

const post = (
  userId: string | undefined,
  courseId: string,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  invoke(
    record,
    apiEvent({
      method: 'POST',
      route: '/courses/{courseId}',
      pathParameters: { courseId },
      headers: { ...(userId ? { 'x-user-id': userId } : {}), ...headers },
      body,
    }),
  );

const stats = (userId: string, courseId: string) =>
  invoke(
    getCourse,
    apiEvent({
      method: 'GET',
      route: '/courses/{courseId}',
      pathParameters: { courseId },
      headers: { 'x-user-id': userId },
    }),
  );

describe('POST /courses/{courseId}', () => {
  it('stores a session and returns it with 201', async () => {
    const body = session();
    const res = await post(randomUUID(), randomUUID(), body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual(body);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts an identical re-post once and answers 201 again', async () => {
    const [user, course, body] = [randomUUID(), randomUUID(), session()];
    expect((await post(user, course, body)).status).toBe(201);
    const again = await post(user, course, body);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(body);
    expect((await stats(user, course)).body).toEqual({
      totalModulesStudied: 4,
      averageScore: 80,
      timeStudied: 120000,
    });
  });

  it('answers 409 for the same sessionId with a different body and changes nothing', async () => {
    const [user, course, body] = [randomUUID(), randomUUID(), session()];
    await post(user, course, body);
    const res = await post(user, course, { ...body, averageScore: 10 });
    expect(res.status).toBe(409);
    expect(res.body.error.status).toBe(409);
    expect((await stats(user, course)).body.averageScore).toBe(80);
  });

  it('keeps the module-weighted average over sessions', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    await post(user, course, session({ totalModulesStudied: 2, averageScore: 80, timeStudied: 1000 }));
    await post(user, course, session({ totalModulesStudied: 8, averageScore: 50, timeStudied: 500 }));
    await post(user, course, session({ totalModulesStudied: 0, averageScore: 100, timeStudied: 7 }));
    const res = await stats(user, course);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ totalModulesStudied: 10, averageScore: 56, timeStudied: 1507 });
  });

  it('reports an average of 0 when no modules were studied', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    await post(user, course, session({ totalModulesStudied: 0, averageScore: 90 }));
    expect((await stats(user, course)).body).toEqual({
      totalModulesStudied: 0,
      averageScore: 0,
      timeStudied: 120000,
    });
  });

  it.each([
    ['missing', undefined],
    ['not a UUID', 'user-1'],
  ])('answers 400 when X-User-Id is %s', async (_, userId) => {
    const res = await post(userId, randomUUID(), session());
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty('x-user-id');
  });

  it('answers 400 for a courseId that is not a UUID', async () => {
    const res = await post(randomUUID(), 'course-1', session());
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty('courseId');
  });

  it.each([
    ['malformed JSON', '{"sessionId":'],
    ['a JSON array', '[]'],
    ['a JSON string', '"hello"'],
    ['an empty body', ''],
  ])('answers 400 for %s', async (_, raw) => {
    const res = await post(randomUUID(), randomUUID(), raw, { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ status: 400, request_id: expect.any(String) });
  });

  it('answers 415 for a body with another content type', async () => {
    const res = await post(randomUUID(), randomUUID(), JSON.stringify(session()), {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(415);
  });

  it('accepts a charset parameter on the content type', async () => {
    const res = await post(randomUUID(), randomUUID(), session(), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.status).toBe(201);
  });

  it('answers 422 with field errors for an invalid body and stores nothing', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    const res = await post(user, course, { sessionId: 'x', totalModulesStudied: -1, averageScore: 101 });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toBe('Validation failed.');
    expect(Object.keys(res.body.error.errors).sort()).toEqual(
      ['averageScore', 'sessionId', 'timeStudied', 'totalModulesStudied'].sort(),
    );
    expect((await stats(user, course)).status).toBe(404);
  });

  it('answers 422, not 500, for figures too large or too small to store, and stores nothing', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    const cases = [
      { totalModulesStudied: Number.MAX_SAFE_INTEGER, averageScore: 100 },
      { timeStudied: Number.MAX_SAFE_INTEGER + 2 },
      { averageScore: 1e-131 },
      { totalModulesStudied: 1e300 },
    ];
    for (const overrides of cases) {
      const res = await post(user, course, session(overrides));
      expect(res.status, JSON.stringify(overrides)).toBe(422);
      expect(Object.keys(res.body.error.errors)).toEqual(Object.keys(overrides).slice(0, 1));
    }
    expect((await stats(user, course)).status).toBe(404);
  });

  it('sums a tiny score next to a large one without losing the aggregate', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    expect((await post(user, course, session({ totalModulesStudied: 1, averageScore: 100 }))).status).toBe(
      201,
    );
    const tiny = session({ totalModulesStudied: 3, averageScore: 1e-50 });
    const created = await post(user, course, tiny);
    expect(created.status).toBe(201);
    expect(created.body).toEqual(tiny);
    expect((await post(user, course, tiny)).status).toBe(201);
    expect((await stats(user, course)).body).toEqual({
      totalModulesStudied: 4,
      averageScore: 25,
      timeStudied: 240000,
    });
  });

  it('answers 422 when a session would push a lifetime total past its bound, and keeps the totals', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    const big = Number.MAX_SAFE_INTEGER - 10;
    expect((await post(user, course, session({ timeStudied: big }))).status).toBe(201);
    const over = await post(user, course, session({ timeStudied: 11 }));
    expect(over.status).toBe(422);
    expect(Object.keys(over.body.error.errors)).toEqual(['timeStudied']);
    expect((await post(user, course, session({ timeStudied: 10 }))).status).toBe(201);

    const modulesMax = Math.floor(Number.MAX_SAFE_INTEGER / 100);
    expect(
      (await post(user, course, session({ totalModulesStudied: modulesMax - 8, timeStudied: 0 }))).status,
    ).toBe(201);
    const tooMany = await post(user, course, session({ totalModulesStudied: 5, timeStudied: 0 }));
    expect(tooMany.status).toBe(422);
    expect(Object.keys(tooMany.body.error.errors)).toEqual(['totalModulesStudied']);

    const res = await stats(user, course);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      totalModulesStudied: modulesMax,
      averageScore: 80,
      timeStudied: Number.MAX_SAFE_INTEGER,
    });
  });

  it('echoes a sane x-request-id and replaces an unsafe one', async () => {
    const echoed = await post(randomUUID(), randomUUID(), session(), { 'x-request-id': 'abc-123' });
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const replaced = await post(randomUUID(), randomUUID(), 'nope', {
      'x-request-id': 'bad id\nwith newline',
    });
    expect(replaced.headers['x-request-id']).not.toContain('bad');
    expect(replaced.body.error.request_id).toBe(replaced.headers['x-request-id']);
  });

  it('replays the first response for a repeated Idempotency-Key and refuses it with another body', async () => {
    const [user, course, key] = [randomUUID(), randomUUID(), randomUUID()];
    const first = await post(user, course, session(), { 'idempotency-key': key });
    const repeat = await post(user, course, { ...first.body }, { 'idempotency-key': key });
    expect(repeat.status).toBe(201);
    expect(repeat.body).toEqual(first.body);
    const other = await post(user, course, session(), { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.errors).toHaveProperty('idempotency-key');
    expect((await stats(user, course)).body.totalModulesStudied).toBe(4);
  });
});

describe('GET /courses/{courseId}', () => {
  it('answers 404 when the user has no session in the course', async () => {
    const res = await stats(randomUUID(), randomUUID());
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ status: 404 });
  });

  it('does not mix users or courses', async () => {
    const [user, other, course] = [randomUUID(), randomUUID(), randomUUID()];
    await post(user, course, session());
    expect((await stats(other, course)).status).toBe(404);
    expect((await stats(user, randomUUID())).status).toBe(404);
  });
});

describe('GET /courses/{courseId}/sessions/{sessionId}', () => {
  const fetchSession = (userId: string, courseId: string, sessionId: string) =>
    invoke(
      getSession,
      apiEvent({
        method: 'GET',
        route: '/courses/{courseId}/sessions/{sessionId}',
        pathParameters: { courseId, sessionId },
        headers: { 'x-user-id': userId },
      }),
    );

  it('returns the stored session', async () => {
    const [user, course, body] = [randomUUID(), randomUUID(), session()];
    await post(user, course, body);
    const res = await fetchSession(user, course, body.sessionId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(body);
  });

  it('answers 404 for another user, another course, or an unknown session', async () => {
    const [user, course, body] = [randomUUID(), randomUUID(), session()];
    await post(user, course, body);
    expect((await fetchSession(randomUUID(), course, body.sessionId)).status).toBe(404);
    expect((await fetchSession(user, randomUUID(), body.sessionId)).status).toBe(404);
    expect((await fetchSession(user, course, randomUUID())).status).toBe(404);
  });

  it('answers 400 for a sessionId that is not a UUID', async () => {
    const res = await fetchSession(randomUUID(), randomUUID(), '42');
    expect(res.status).toBe(400);
    expect(res.body.error.errors).toHaveProperty('sessionId');
  });
});
