// Twin of VisitsCancelVisit (functions/visits/cancel-visit.ts, visits.ts cancelVisit): the session check
// and the visit in one consistent BatchGetItem, then the release as one TransactWriteItems with the
// real conditions (visit still requested and the caller's; member's reservation covers the minutes), which
// also moves the visit's open-visits listing entry from requested to canceled (delete + put, issue 16).

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';
import { callerAndVisit, contention, type Item, transact } from './visits-b-shared.js';
import {
  type Context,
  edb,
  fail,
  isReply,
  listingDelete,
  listingPut,
  memberStatusPk,
  toVisit,
  userKey,
  type VisitItem,
} from './visits-shared.js';

/** visits.ts requireCancellable: the refusal to send, if any. */
const refusal = (visit: Item, memberId: string, event: Event) => {
  if (visit.memberId !== memberId)
    return fail(403, 'Only the member who requested a visit can cancel it.', event);
  if (visit.status !== 'requested') return fail(409, `The visit is ${visit.status}, not requested.`, event);
  return undefined;
};

export const handler = async (event: Event, _context?: Context) => {
  const read = await callerAndVisit(event);
  if (isReply(read)) return read;
  const { userId, key, visit } = read;
  const refused = refusal(visit, userId, event);
  if (refused) return refused;

  const memberId = visit.memberId as string;
  const m = visit.minutes as number;
  const canceledAt = new Date().toISOString();
  const codes = await transact([
    {
      Update: {
        TableName: TABLE,
        Key: key,
        UpdateExpression:
          'SET #status = :canceled, #canceledAt = :at, #gsi3pk = :g3, #visitId = :id, #e = :e, #v = :v',
        ConditionExpression:
          'attribute_exists(#pk) AND attribute_exists(#sk) AND #memberId = :member AND #date = :date AND #status = :requested',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#status': 'status',
          '#canceledAt': 'canceledAt',
          '#gsi3pk': 'gsi3pk',
          '#visitId': 'visitId',
          '#memberId': 'memberId',
          '#date': 'date',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: {
          ':canceled': 'canceled',
          ':requested': 'requested',
          ':at': canceledAt,
          ':g3': memberStatusPk(memberId, 'canceled'),
          ':id': visit.visitId,
          ':member': userId,
          ':date': visit.date,
          ':e': edb('visit').__edb_e__,
          ':v': '1',
        },
      },
    },
    {
      Update: {
        TableName: TABLE,
        Key: userKey(memberId),
        UpdateExpression:
          'SET #reserved = #reserved - :m, #userId = :uid, #e = :e, #v = :v ADD #available :m',
        ConditionExpression: 'attribute_exists(#pk) AND attribute_exists(#sk) AND #reserved >= :m',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#reserved': 'reserved',
          '#available': 'available',
          '#userId': 'userId',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: { ':m': m, ':uid': memberId, ':e': 'user', ':v': '1' },
      },
    },
    listingDelete('requested', visit as unknown as VisitItem),
    listingPut('canceled', visit as unknown as VisitItem),
  ]);
  if (codes === 'contention') return contention(event);
  if (codes) {
    if (codes[0] !== 'ConditionalCheckFailed')
      return fail(409, 'The visit can no longer be canceled.', event);
    // Lost a race with a completion or another cancel: answer from what the visit is now.
    const { Item: now } = await doc.send(
      new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }),
    );
    if (!now) return fail(404, 'Visit not found.', event);
    return refusal(now, userId, event) ?? fail(409, 'The visit is no longer requested.', event);
  }
  return reply(200, {
    data: toVisit({ ...(visit as unknown as VisitItem), status: 'canceled', canceledAt }),
  });
};
