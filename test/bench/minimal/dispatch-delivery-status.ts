// POST /messages/delivery_status, the minimal way: the HMAC token checked with the SSM secret, one
// consistent GetItem of the message, then the forward-only conditional UpdateItem only when the message
// can still move (`sending` / `sent`); a condition failure answers from the item DynamoDB returns with it
// (ReturnValuesOnConditionCheckFailure), not from a second read. `invalid` also upserts the suppression.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  callbackSecret,
  isConditionFailure,
  MESSAGE_MARKERS,
  type MessageRow,
  messageKey,
  namesOf,
  plainItem,
  problem,
  SUPPRESSION_MARKERS,
  suppressionKey,
  verifyCallbackToken,
} from './dispatch-shared.js';
import { doc, type Event, reply, TABLE } from './shared.js';

const DELIVERY_UPDATE =
  'SET #status = :status, #providerMessageId = :pmid, #updatedAt = :at, ' +
  '#history = list_append(if_not_exists(#history, :empty), :entry), #id = :id, #__edb_e__ = :e, #__edb_v__ = :v';
const DELIVERY_CONDITION =
  'attribute_exists(#pk) AND (#status = :sending OR #status = :sent) AND ' +
  '(attribute_not_exists(#providerMessageId) OR #providerMessageId = :pmid)';
const STATUSES = new Set(['delivered', 'failed', 'invalid']);

export const handler = async (event: Event) => {
  const id = verifyCallbackToken(await callbackSecret(), event.queryStringParameters?.token);
  if (!id) return problem(event, 401, 'Missing or invalid callback token.');
  let input: { status?: unknown; message_id?: unknown };
  try {
    input = JSON.parse(event.body ?? '');
  } catch {
    return problem(event, 400, 'Request body is not valid JSON.');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return problem(event, 400, 'Request body must be a JSON object.');
  const errors: Record<string, string[]> = {};
  if (typeof input.status !== 'string' || !STATUSES.has(input.status))
    errors.status = ['status must be one of delivered, failed, invalid'];
  const providerMessageId = input.message_id;
  if (typeof providerMessageId !== 'string' || providerMessageId.length < 1 || providerMessageId.length > 256)
    errors.message_id = ['message_id must be a string of 1 to 256 characters'];
  if (Object.keys(errors).length > 0) return problem(event, 422, 'Validation failed.', { fields: errors });
  const status = input.status as string;
  const pmid = providerMessageId as string;

  const unknown = () => problem(event, 404, 'Unknown message_id.');
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: messageKey(id), ConsistentRead: true }),
  );
  const message = Item?.__edb_e__ === 'message' ? (Item as MessageRow) : undefined;
  if (!message) return unknown();
  if (message.providerMessageId !== undefined && message.providerMessageId !== pmid) return unknown();
  if (message.providerMessageId === undefined && message.status !== 'sending') return unknown();

  const at = new Date().toISOString();
  let current = message.status;
  let changed = false;
  // Statuses only move forward from `sending` / `sent`: anything else is a duplicate or late report.
  if (message.status === 'sending' || message.status === 'sent') {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: messageKey(id),
          UpdateExpression: DELIVERY_UPDATE,
          ConditionExpression: DELIVERY_CONDITION,
          ExpressionAttributeNames: namesOf(DELIVERY_UPDATE, DELIVERY_CONDITION),
          ExpressionAttributeValues: {
            ':status': status,
            ':pmid': pmid,
            ':at': at,
            ':empty': [],
            ':entry': [{ status, at, ...(message.provider ? { provider: message.provider } : {}) }],
            ':id': id,
            ':e': MESSAGE_MARKERS.__edb_e__,
            ':v': MESSAGE_MARKERS.__edb_v__,
            ':sending': 'sending',
            ':sent': 'sent',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      current = status;
      changed = true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = plainItem((error as { Item?: never }).Item) as MessageRow | undefined;
      if (!old || (old.providerMessageId ?? pmid) !== pmid) return unknown();
      current = old.status;
    }
  }
  if (current === 'invalid' && status === 'invalid') {
    const upsert =
      'SET #__edb_e__ = :e, #__edb_v__ = :v, #toNumber = :n, #reason = :r, #messageId = :m, #createdAt = :at' +
      (message.provider ? ', #provider = :p' : '');
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: suppressionKey(message.toNumber),
        UpdateExpression: upsert,
        ExpressionAttributeNames: namesOf(upsert),
        ExpressionAttributeValues: {
          ':e': SUPPRESSION_MARKERS.__edb_e__,
          ':v': SUPPRESSION_MARKERS.__edb_v__,
          ':n': message.toNumber,
          ':r': 'reported invalid by a provider',
          ':m': id,
          ':at': at,
          ...(message.provider ? { ':p': message.provider } : {}),
        },
      }),
    );
  }
  return reply(200, { id, status: current, changed });
};
