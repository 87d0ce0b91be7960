import { dynamo } from '@svc/platform';
import { Entity } from 'electrodb';
import { shardOf } from './candidates.js';
import { LEGACY_USER_SHARDS, REPORT_LIST_SHARDS, tasksDb } from './entities.js';

/**
 * Moving a stage's data to the issue 17 layout (README: "Migration"). Both steps are idempotent and can
 * run while the new code serves traffic; run them once after deploying it (`infra/bin/migrate-tasks.ts`).
 */

/**
 * The report index entry as it was written before: every stored report under gsi2pk `everyone = 'all'`,
 * pending ones in both lists too. Only read here, to find the items to rewrite.
 */
const LegacyReportEntity = new Entity({
  model: { service: 'tasks', entity: 'report', version: '1' },
  attributes: {
    reportId: { type: 'string', required: true },
    userId: { type: 'string', required: true },
    periodStart: { type: 'string', required: true },
    periodEnd: { type: 'string', required: true },
    status: { type: ['pending', 'stored'] as const, required: true },
    objectKey: { type: 'string', required: true },
    newIncomplete: { type: 'number' },
    completed: { type: 'number' },
    oldIncomplete: { type: 'number' },
    storedAt: { type: 'string' },
    everyone: { type: 'string', required: true, default: 'all' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['reportId'], casing: 'none' },
      sk: { field: 'sk', composite: [], casing: 'none' },
    },
    byTime: {
      index: 'gsi2',
      pk: { field: 'gsi2pk', composite: ['everyone'], casing: 'none' },
      sk: { field: 'gsi2sk', composite: ['periodEnd', 'reportId'], casing: 'none' },
    },
  },
});

/** The legacy entity bound to the same table and client (tests write legacy items with it). */
export function legacyReports() {
  const { client, table } = dynamo();
  LegacyReportEntity.setClient(client);
  LegacyReportEntity.setTableName(table);
  return LegacyReportEntity;
}

type LegacyItem = {
  reportId: string;
  userId: string;
  periodStart: string;
  periodEnd: string;
  status: 'pending' | 'stored';
  objectKey: string;
  storedAt?: string | undefined;
  newIncomplete?: number | undefined;
  completed?: number | undefined;
  oldIncomplete?: number | undefined;
};

/**
 * Rewrites every report of the legacy global list into the sharded one (gsi2 by `listShard`), with a
 * TTL of `retentionDays` from when it was stored. The legacy partition empties as it goes, so a rerun
 * continues where a stopped one ended. Pending legacy entries are left for their workers to finish.
 */
export async function backfillReportIndex(retentionDays: number, log: (m: string) => void = () => {}) {
  const legacy = legacyReports();
  const reports = tasksDb().entities.report;
  let moved = 0;
  let cursor: string | null = null;
  do {
    const page: { data: LegacyItem[]; cursor: string | null } = await legacy.query
      .byTime({ everyone: 'all' })
      .go({ cursor, pages: 1, limit: 100 });
    for (const item of page.data) {
      if (item.status !== 'stored') continue;
      const storedAt = item.storedAt ?? item.periodEnd;
      await reports
        .put({
          reportId: item.reportId,
          userId: item.userId,
          periodStart: item.periodStart,
          periodEnd: item.periodEnd,
          status: 'stored',
          objectKey: item.objectKey,
          storedAt,
          newIncomplete: item.newIncomplete ?? 0,
          completed: item.completed ?? 0,
          oldIncomplete: item.oldIncomplete ?? 0,
          listShard: shardOf(item.reportId, REPORT_LIST_SHARDS),
          expiresAt: Math.floor(Date.parse(storedAt) / 1000) + retentionDays * 86_400,
        })
        .go({ response: 'none' });
      moved += 1;
    }
    cursor = page.cursor;
    log(`reports moved: ${moved}`);
  } while (cursor);
  return moved;
}

/**
 * Puts every user the legacy activity counter knew with open tasks into the open set, so they keep
 * getting a report every window before their next webhook event. Reads the 8 legacy gsi3 partitions once.
 */
export async function backfillOpenUsers(log: (m: string) => void = () => {}) {
  const { taskUser, openUser } = tasksDb().entities;
  const asOf = new Date().toISOString();
  let put = 0;
  for (let shard = 0; shard < LEGACY_USER_SHARDS; shard++) {
    let cursor: string | null = null;
    do {
      const page: { data: { userId: string }[]; cursor: string | null } = await taskUser.query
        .byShard({ shard: String(shard) })
        .where((a, op) => op.gt(a.openTasks, 0))
        .go({ cursor, pages: 1 });
      for (const u of page.data) {
        await openUser
          .put({ openShard: shardOf(u.userId), userId: u.userId, asOf })
          .where((a, op) => `${op.notExists(a.asOf)} OR ${op.lte(a.asOf, asOf)}`)
          .go({ response: 'none' })
          .catch((error: unknown) => {
            if ((error as { name?: string }).name !== 'ElectroError') throw error;
          });
        put += 1;
      }
      cursor = page.cursor;
    } while (cursor);
    log(`legacy shard ${shard}: ${put} open users so far`);
  }
  return put;
}
