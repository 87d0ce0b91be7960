import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '@svc/platform';
import { Stats } from '@svc/stats';
import { describe, expect, it } from 'vitest';

const session = (modules: number, score: number, time: number) => ({
  sessionId: randomUUID(),
  totalModulesStudied: modules,
  averageScore: score,
  timeStudied: time,
});

describe('stats transactions against DynamoDB Local', () => {
  it('counts 40 concurrent distinct sessions exactly once each', async () => {
    const key = { userId: randomUUID(), courseId: randomUUID() };
    const sessions = Array.from({ length: 40 }, (_, i) => session(i % 5, (i * 7) % 101, 1000 + i));
    await Promise.all(sessions.map((s) => Stats.recordSession(key, s)));
    const modules = sessions.reduce((n, s) => n + s.totalModulesStudied, 0);
    const weighted = sessions.reduce((n, s) => n + s.totalModulesStudied * s.averageScore, 0);
    const time = sessions.reduce((n, s) => n + s.timeStudied, 0);
    const stats = await Stats.getCourseStats(key);
    expect(stats.totalModulesStudied).toBe(modules);
    expect(stats.timeStudied).toBe(time);
    expect(stats.averageScore).toBeCloseTo(weighted / modules, 6);
  });

  it('counts the same session posted 20 times at once exactly once', async () => {
    const key = { userId: randomUUID(), courseId: randomUUID() };
    const s = session(3, 90, 500);
    const results = await Promise.all(Array.from({ length: 20 }, () => Stats.recordSession(key, s)));
    expect(results.every((r) => r.sessionId === s.sessionId)).toBe(true);
    const { client, table } = dynamo();
    const items = await Stats.getCourseStats(key);
    expect(items).toEqual({ totalModulesStudied: 3, averageScore: 90, timeStudied: 500 });
    // The raw aggregate item proves the session count itself, not just the derived figures.
    const raw = await client.send(
      new GetCommand({
        TableName: table,
        Key: { pk: `$stats#userid_${key.userId}#courseid_${key.courseId}`, sk: '$coursestats_1' },
      }),
    );
    expect(raw.Item?.sessions).toBe(1);
  });

  it('refuses a conflicting session and leaves the aggregate untouched', async () => {
    const key = { userId: randomUUID(), courseId: randomUUID() };
    const s = session(2, 50, 100);
    await Stats.recordSession(key, s);
    await expect(Stats.recordSession(key, { ...s, timeStudied: 101 })).rejects.toMatchObject({
      kind: 'conflict',
    });
    expect(await Stats.getCourseStats(key)).toEqual({
      totalModulesStudied: 2,
      averageScore: 50,
      timeStudied: 100,
    });
  });
});
