import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { requestKey } from './assistance-shared.js';
import { doc, type Event, refuse, reply, TABLE, verifyJwt } from './shared.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'request-assistance');
  if ('statusCode' in caller) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!UUID.test(id)) return refuse(event, 400, 'Invalid request parameters.');
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: requestKey(id), ConsistentRead: true }),
  );
  // Someone else's request answers the same 404 as a missing one.
  if (!Item || Item.ownerId !== caller.sub) return refuse(event, 404, 'Assistance request not found.');
  return reply(200, {
    id: Item.requestId,
    topic: Item.topic,
    channel: Item.channel,
    status: Item.status,
    attempts: Item.attempts,
    delivered_at: Item.deliveredAt ?? null,
  });
};
