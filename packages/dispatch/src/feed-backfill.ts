import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '@svc/platform';
import { dispatchDb } from './entities.js';
import { addToFeed } from './feed.js';

/**
 * Moves messages stored before the feed shards (on the old all-messages index gsi2, partition `all`) to the
 * feed: for each, its feed entry is written, then its gsi2 keys are removed, so it leaves the hot partition
 * and is no longer rewritten there on status changes. Idempotent and resumable: it always reads the front of
 * what is left, and a message caught between the two writes is on both layouts, which the list dedupes.
 * Returns how many messages it moved.
 */
export async function backfillFeed(options: { pageSize?: number; log?: (moved: number) => void } = {}) {
  const { client, table } = dynamo();
  const messages = dispatchDb().entities.message;
  let moved = 0;
  for (;;) {
    const { data } = await messages.query.legacyRecent({ feed: 'all' }).go({
      limit: options.pageSize ?? 100,
      count: options.pageSize ?? 100,
      attributes: ['id', 'createdAt'],
    });
    if (data.length === 0) return moved;
    for (const m of data) {
      await addToFeed(m.id, m.createdAt);
      const { Key } = messages.get({ id: m.id }).params() as { Key: Record<string, string> };
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key,
          UpdateExpression: 'REMOVE gsi2pk, gsi2sk, #feed',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#feed': 'feed' },
        }),
      );
      moved += 1;
    }
    options.log?.(moved);
  }
}
