// GET /messages/{id}, the minimal way: one consistent GetItem of the real message item.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type MessageRow, messageKey, problem, viewOf } from './dispatch-shared.js';
import { doc, type Event, reply, TABLE, verifyJwt } from './shared.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'messages:read');
  if ('statusCode' in caller) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!UUID.test(id)) return problem(event, 400, 'Invalid request parameters.');
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: messageKey(id), ConsistentRead: true }),
  );
  if (Item?.__edb_e__ !== 'message') return problem(event, 404, 'Message not found.');
  return reply(200, viewOf(Item as MessageRow));
};
