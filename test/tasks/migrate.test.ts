import { randomUUID } from 'node:crypto';
import { Reports } from '@svc/tasks';
import { shardOf } from '@svc/tasks/candidates';
import { tasksDb } from '@svc/tasks/entities';
import { backfillOpenUsers, backfillReportIndex, legacyReports } from '@svc/tasks/migrate';
import { describe, expect, it } from 'vitest';

describe('migration to the issue 17 layout', () => {
  it('moves legacy reports into the sharded list and legacy open users into the open set, idempotently', async () => {
    const userId = `legacy-${randomUUID()}`;
    const period = { start: '2026-11-30T00:00:00.000Z', end: '2026-11-30T01:00:00.000Z' };
    const reportId = Reports.reportIdFor(userId, period);
    await legacyReports()
      .put({
        reportId,
        userId,
        periodStart: period.start,
        periodEnd: period.end,
        status: 'stored',
        objectKey: `task_report_${userId}_${period.start}_${period.end}.json`,
        storedAt: new Date().toISOString(),
        newIncomplete: 1,
        completed: 0,
        oldIncomplete: 2,
      })
      .go();
    await tasksDb().entities.taskUser.put({ userId, shard: '3', openTasks: 2, touchedAt: period.end }).go();

    for (let run = 0; run < 2; run++) {
      await backfillReportIndex(90);
      await backfillOpenUsers();
    }
    const mine = await Reports.listReports({ userId, limit: 10 });
    expect(mine.data).toEqual([
      { id: reportId, userId, period, counts: { newIncomplete: 1, completed: 0, oldIncomplete: 2 } },
    ]);
    // In the global list too, from its shard (paged until found: other suites share the table).
    let cursor: string | undefined;
    let found = false;
    for (let page = 0; page < 50 && !found; page++) {
      const all = await Reports.listReports({ limit: 100, ...(cursor ? { cursor } : {}) });
      found = all.data.some((r) => r.id === reportId);
      cursor = all.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(found).toBe(true);
    const open = await tasksDb()
      .entities.openUser.get({ openShard: shardOf(userId), userId })
      .go();
    expect(open.data?.userId).toBe(userId);
  });
});
