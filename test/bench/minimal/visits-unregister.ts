// Twin of VisitsUnregister. The session check's account lookup brings `email` and `reserved`; an
// account holding no reservation has no requested visit (a requested visit always holds its
// reservation), so it is deleted at once: user (condition reserved = 0) and email claim in one
// TransactWriteItems. Otherwise (or if that loses a race) the real protocol: mark closing, cancel each
// requested visit (visit + reservation release in one transaction), then the same deletion.
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  authenticateWith,
  type Context,
  cancellationCodes,
  emailKey,
  fail,
  isReply,
  listingDelete,
  listingPut,
  memberStatusPk,
  userKey,
  VISIT_SK_PREFIX,
  visitKey,
} from './visits-shared.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const noContent = () => ({ ...reply(204, null), headers: {}, body: '' });

/** User (reserved = 0) and email claim (still this user's) deleted together; false on a condition. */
async function removeAccount(userId: string, email: string): Promise<boolean> {
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: TABLE,
              Key: userKey(userId),
              ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk) AND reserved = :zero',
              ExpressionAttributeValues: { ':zero': 0 },
            },
          },
          {
            Delete: {
              TableName: TABLE,
              Key: emailKey(email),
              ConditionExpression: 'userId = :u',
              ExpressionAttributeValues: { ':u': userId },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return false;
    throw error;
  }
}

/** visits.ts releaseReservation: requested → canceled and the minutes back, at most once. */
async function release(visit: Record<string, unknown>, now: string): Promise<void> {
  const { visitId, memberId, date, minutes } = visit as {
    visitId: string;
    memberId: string;
    date: string;
    minutes: number;
  };
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE,
              Key: visitKey(visitId),
              UpdateExpression: 'SET #status = :canceled, canceledAt = :now, gsi3pk = :g3',
              ConditionExpression:
                'attribute_exists(pk) AND attribute_exists(sk) AND memberId = :member AND #date = :date AND #status = :requested',
              ExpressionAttributeNames: { '#status': 'status', '#date': 'date' },
              ExpressionAttributeValues: {
                ':canceled': 'canceled',
                ':requested': 'requested',
                ':now': now,
                ':g3': memberStatusPk(memberId, 'canceled'),
                ':member': memberId,
                ':date': date,
              },
            },
          },
          {
            Update: {
              TableName: TABLE,
              Key: userKey(memberId),
              UpdateExpression: 'ADD reserved :neg, available :m',
              ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk) AND reserved >= :m',
              ExpressionAttributeValues: { ':m': minutes, ':neg': -minutes },
            },
          },
          listingDelete('requested', { visitId, date }),
          listingPut('canceled', { visitId, date }),
        ],
      }),
    );
  } catch (error) {
    if (cancellationCodes(error)?.[0] !== 'ConditionalCheckFailed') throw error;
  }
}

export const handler = async (event: Event, context?: Context) => {
  const caller = await authenticateWith(event, context, ['email', 'reserved']);
  if (isReply(caller)) return caller;
  const { userId } = caller;
  const email = String(caller.item.email);
  if (caller.item.reserved === 0 && (await removeAccount(userId, email))) return noContent();

  try {
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: userKey(userId),
        UpdateExpression: 'SET closing = :t',
        ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return noContent();
    throw error;
  }
  const now = new Date().toISOString();
  for (let round = 0; round < 6; round++) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: 'gsi3',
          KeyConditionExpression: 'gsi3pk = :pk AND begins_with(gsi3sk, :sk)',
          ExpressionAttributeValues: { ':pk': memberStatusPk(userId, 'requested'), ':sk': VISIT_SK_PREFIX },
          ExclusiveStartKey: start,
        }),
      );
      for (const visit of page.Items ?? []) await release(visit, now);
      start = page.LastEvaluatedKey;
    } while (start);
    if (await removeAccount(userId, email)) return noContent();
    // A reservation still held, or a concurrent delete got there first.
    const { Item } = await doc.send(
      new GetCommand({
        TableName: TABLE,
        Key: userKey(userId),
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    if (!Item) return noContent();
    await sleep(50 * 2 ** round);
  }
  return fail(503, 'The account could not be deleted yet, retry later.', event);
};
