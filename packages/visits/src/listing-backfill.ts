import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure } from '@svc/platform';
import { visitsDb } from './entities.js';
import { VISIT_STATUSES, type VisitStatus } from './rules.js';
import { listing } from './visits.js';

/** The old layout's list partitions: every visit was on gsi1 under `$visits#status_<status>`. */
const legacyPartition = (status: VisitStatus) => `$visits#status_${status}`;

/**
 * Moves visits stored before the open-visits index (on gsi1, one partition per status) to the sharded
 * listing entries (see packages/visits/README.md, "Migration"). For each visit: in one transaction, its
 * entry under the status it has now is written and its gsi1 keys are removed, on condition that the status is
 * still that one — a visit completed or canceled by the new code meanwhile fails the condition and is taken
 * again on the next pass, so no entry can disagree with its visit. Idempotent and resumable: it always reads
 * what is left on the old partitions. Returns how many visits it moved.
 */
export async function backfillListings(
  options: { pageSize?: number; log?: (moved: number) => void } = {},
): Promise<number> {
  const { client, table } = dynamo();
  const db = visitsDb();
  let moved = 0;
  for (const partition of VISIT_STATUSES) {
    for (let pass = 0; ; pass++) {
      const page = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': legacyPartition(partition) },
          Limit: options.pageSize ?? 100,
        }),
      );
      const items = page.Items ?? [];
      if (items.length === 0) break;
      if (pass > 1000) throw new Error('backfill: the old partitions keep changing, run it again later');
      for (const Item of items) {
        const visit = db.entities.visit.parse({ Item }).data;
        if (!visit) continue;
        const entry = db.entities.listing.put(listing(visit.status, visit)).params() as {
          Item: Record<string, unknown>;
        };
        try {
          await client.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Update: {
                    TableName: table,
                    Key: { pk: Item.pk, sk: Item.sk },
                    UpdateExpression: 'REMOVE gsi1pk, gsi1sk',
                    ConditionExpression: '#status = :status',
                    ExpressionAttributeNames: { '#status': 'status' },
                    ExpressionAttributeValues: { ':status': visit.status },
                  },
                },
                { Put: { TableName: table, Item: entry.Item } },
              ],
            }),
          );
          moved += 1;
        } catch (error) {
          // Its status changed after the read: the next pass reads it again.
          if (
            !isConditionFailure(error) &&
            (error as { name?: string }).name !== 'TransactionCanceledException'
          )
            throw error;
        }
      }
      options.log?.(moved);
    }
  }
  return moved;
}
