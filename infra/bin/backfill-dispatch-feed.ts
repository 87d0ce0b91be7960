import { backfillFeed } from '@svc/dispatch/feed-backfill';

/**
 * `TABLE_NAME=svc-<stage> pnpm exec tsx infra/bin/backfill-dispatch-feed.ts` (with the stage account's AWS
 * credentials): moves messages stored before the feed shards off the old all-messages index (see
 * packages/dispatch/README.md, "Migration"). Safe to stop and run again.
 */
const moved = await backfillFeed({ log: (n) => console.log(`moved ${n} messages`) });
console.log(`done: ${moved} messages moved to the feed shards`);
