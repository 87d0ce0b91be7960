// Twin of VisitsRequestVisit: the session check, then one TransactWriteItems that reserves the
// minutes on the member (available >= minutes, not closing) and creates the visit item with its three
// index keys and its open-visits listing entry (issue 16); a cancellation reads the member once to say
// why (401, 409 or 422). Tasks total at most 16 KB of names and descriptions (visits.ts MAX_TASK_BYTES).
import { randomUUID } from 'node:crypto';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  authenticate,
  type Context,
  cancellationCodes,
  edb,
  fail,
  isReply,
  listingPut,
  toVisit,
  userKey,
  type VisitItem,
  visitIndexKeys,
  visitKey,
} from './visits-shared.js';

export const handler = async (event: Event, context?: Context) => {
  const caller = await authenticate(event, context);
  if (isReply(caller)) return caller;
  const memberId = caller.userId;
  const input = JSON.parse(event.body ?? '{}') as {
    date: string;
    minutes: number;
    tasks: { name: string; description?: string }[];
  };
  const now = new Date();
  if (input.date < now.toISOString().slice(0, 10))
    return fail(422, 'Validation failed.', event, { date: ['must be today or later'] });
  const taskBytes = input.tasks.reduce(
    (n, t) => n + Buffer.byteLength(t.name.trim()) + Buffer.byteLength(t.description ?? ''),
    0,
  );
  if (taskBytes > 16 * 1024)
    return fail(422, 'Validation failed.', event, {
      tasks: ['must total at most 16384 bytes of names and descriptions (UTF-8)'],
    });
  const item: VisitItem = {
    visitId: randomUUID(),
    memberId,
    date: input.date,
    minutes: input.minutes,
    status: 'requested',
    tasks: input.tasks.map((t) => ({
      id: randomUUID(),
      name: t.name.trim(),
      ...(t.description !== undefined ? { description: t.description } : {}),
    })),
    createdAt: now.toISOString(),
  };
  const m = input.minutes;
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE,
              Key: userKey(memberId),
              UpdateExpression: 'ADD reserved :m, available :neg',
              ConditionExpression:
                'attribute_exists(pk) AND attribute_exists(sk) AND available >= :m AND attribute_not_exists(closing)',
              ExpressionAttributeValues: { ':m': m, ':neg': -m },
            },
          },
          {
            Put: {
              TableName: TABLE,
              Item: { ...item, ...visitKey(item.visitId), ...visitIndexKeys(item), ...edb('visit') },
              ConditionExpression: 'attribute_not_exists(pk) AND attribute_not_exists(sk)',
            },
          },
          listingPut('requested', item),
        ],
      }),
    );
  } catch (error) {
    if (cancellationCodes(error)?.[0] !== 'ConditionalCheckFailed') throw error;
    const { Item: member } = await doc.send(
      new GetCommand({
        TableName: TABLE,
        Key: userKey(memberId),
        ConsistentRead: true,
        ProjectionExpression: 'pk, closing',
      }),
    );
    if (!member) return fail(401, 'Not authenticated', event);
    if (member.closing) return fail(409, 'This account is being deleted.', event);
    return fail(422, 'Validation failed.', event, { minutes: ['exceeds available minutes'] });
  }
  return reply(201, { data: toVisit(item) });
};
