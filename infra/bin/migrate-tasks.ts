import { enableCarryForward } from '@svc/tasks/carry-forward';
import { backfillOpenUsers, backfillReportIndex } from '@svc/tasks/migrate';

/**
 * `TABLE_NAME=<table> AWS_REGION=<region> pnpm exec tsx infra/bin/migrate-tasks.ts [retentionDays]`:
 * moves a stage's tasks data to the issue 17 layout after the new code is deployed (idempotent; rerun
 * after a stop). See packages/tasks/README.md, "Migration".
 */
const retentionDays = Number(process.argv[2] ?? 90);
const log = (m: string) => console.log(m);
console.log(`open users: ${await backfillOpenUsers(log)}`);
console.log(`reports moved to the sharded list: ${await backfillReportIndex(retentionDays, log)}`);
// Last, and only once the deploy has finished (every webhook now writes change records): reports built
// from here on can be carried forward; until then every report reads its user's open tasks in full.
console.log(`reports carry forward from: ${await enableCarryForward()}`);
