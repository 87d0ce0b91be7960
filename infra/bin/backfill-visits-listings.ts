import { backfillListings } from '@svc/visits/listing-backfill';

/**
 * `TABLE_NAME=svc-<stage> pnpm exec tsx infra/bin/backfill-visits-listings.ts` (with the stage account's AWS
 * credentials): moves visits stored before the open-visits index off the old per-status gsi1 partitions onto
 * the sharded listing entries (see packages/visits/README.md, "Migration"). Safe to stop and run again.
 */
const moved = await backfillListings({ log: (n) => console.log(`moved ${n} visits`) });
console.log(`done: ${moved} visits moved to the listing shards`);
