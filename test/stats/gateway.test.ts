import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway.js';

const call = (
  method: string,
  path: string,
  userId: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => gateway(method, path, { body, headers: { 'x-user-id': userId, ...headers } });

const session = (modules: number, score: number, time: number) => ({
  sessionId: randomUUID(),
  totalModulesStudied: modules,
  averageScore: score,
  timeStudied: time,
});

describe('stats through the local gateway', () => {
  it('serves the whole flow: post, read the session, read the lifetime stats', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    const s = session(4, 87.5, 1_800_000);
    const created = await call('POST', `/courses/${course}`, user, s, { 'x-request-id': 'e2e-stats-1' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(s);
    expect(created.headers.get('x-request-id')).toBe('e2e-stats-1');
    expect((await call('GET', `/courses/${course}/sessions/${s.sessionId}`, user)).body).toEqual(s);
    expect((await call('GET', `/courses/${course}`, user)).body).toEqual({
      totalModulesStudied: 4,
      averageScore: 87.5,
      timeStudied: 1_800_000,
    });
  });

  it('counts 40 concurrent session posts exactly once each, and 40 concurrent repeats not at all', async () => {
    const [user, course] = [randomUUID(), randomUUID()];
    const sessions = Array.from({ length: 40 }, (_, i) => session(1 + (i % 4), 40 + i, 1000 * (i + 1)));
    const first = await Promise.all(sessions.map((s) => call('POST', `/courses/${course}`, user, s)));
    expect(first.map((r) => r.status)).toEqual(sessions.map(() => 201));
    const repeats = await Promise.all(sessions.map((s) => call('POST', `/courses/${course}`, user, s)));
    expect(repeats.map((r) => r.status)).toEqual(sessions.map(() => 201));

    const modules = sessions.reduce((n, s) => n + s.totalModulesStudied, 0);
    const weighted = sessions.reduce((n, s) => n + s.totalModulesStudied * s.averageScore, 0);
    const stats = await call('GET', `/courses/${course}`, user);
    expect(stats.body.totalModulesStudied).toBe(modules);
    expect(stats.body.timeStudied).toBe(sessions.reduce((n, s) => n + s.timeStudied, 0));
    expect(stats.body.averageScore).toBeCloseTo(weighted / modules, 6);
  });

  it('answers bad input with the error envelope, never a 5xx', async () => {
    const course = randomUUID();
    const cases = [
      await call('POST', `/courses/${course}`, 'nobody', session(1, 1, 1)),
      await call('POST', '/courses/not-a-uuid', randomUUID(), session(1, 1, 1)),
      await call('POST', `/courses/${course}`, randomUUID(), '{bad json'),
      await call('POST', `/courses/${course}`, randomUUID(), 'a=1', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      await call('POST', `/courses/${course}`, randomUUID(), { sessionId: 1 }),
      await call('GET', `/courses/${course}`, randomUUID()),
      await call('GET', `/courses/${course}/sessions/x`, randomUUID()),
    ];
    expect(cases.map((c) => c.status)).toEqual([400, 400, 400, 415, 422, 404, 400]);
    for (const c of cases) {
      expect(c.body.error.status).toBe(c.status);
      expect(c.body.error.request_id).toBe(c.headers.get('x-request-id'));
    }
  });

  it('answers an unknown route with 404', async () => {
    const res = await call('GET', '/nowhere', randomUUID());
    expect(res.status).toBe(404);
  });
});
