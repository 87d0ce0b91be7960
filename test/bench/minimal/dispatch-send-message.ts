// POST /messages, the minimal way: the suppression GetItem, the three send limits (caller bucket,
// destination window, a daily segment shard: one conditional UpdateItem each), the feed entry PutItem (its
// shard's partition), the message PutItem (the real item, with its gsi1 keys and ElectroDB markers,
// create-only) and the SQS send of `{id}` to QUEUE_URL_DISPATCH_SEND.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  countSegments,
  FEED_MARKERS,
  feedKey,
  listSk,
  MESSAGE_MARKERS,
  messageKey,
  numberPk,
  problem,
  suppressionKey,
} from './dispatch-shared.js';
import { take } from './limits-shared.js';
import { doc, type Event, reply, TABLE, verifyJwt } from './shared.js';

const sqs = new SQSClient({ maxAttempts: 3 });
const QUEUE = process.env.QUEUE_URL_DISPATCH_SEND;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'messages:send');
  if ('statusCode' in caller) return caller;
  // The benchmark sends an E.164 number already; the real one normalises it with libphonenumber.
  const input = JSON.parse(event.body ?? '{}') as { to_number: string; message: string };
  const { Item: suppressed } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: suppressionKey(input.to_number) }),
  );
  if (suppressed?.__edb_e__ === 'suppression')
    return problem(event, 422, 'Validation failed.', {
      fields: { to_number: ['was reported invalid by a provider; messages to it are refused'] },
    });
  const { segments, encoding } = countSegments(input.message);
  const wait =
    (await take('messagesPerCaller', String(caller.sub ?? 'anonymous'))) ??
    (await take('messagesPerDestination', input.to_number)) ??
    (await take('dailySegments', 'stage', segments));
  if (wait !== undefined)
    return problem(event, 429, 'Too many requests, retry later.', {
      headers: { 'retry-after': String(wait) },
    });
  const id = randomUUID();
  const now = new Date().toISOString();
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        shard: Number(feedKey(now, id).pk.split('_')[1]),
        createdAt: now,
        id,
        ...feedKey(now, id),
        ...FEED_MARKERS,
      },
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        id,
        toNumber: input.to_number,
        message: input.message,
        segments,
        encoding,
        createdAt: now,
        createdBy: caller.sub,
        status: 'queued',
        updatedAt: now,
        history: [{ status: 'queued', at: now }],
        attempts: 0,
        feed: 'shards',
        ...messageKey(id),
        gsi1pk: numberPk(input.to_number),
        gsi1sk: listSk(now, id),
        ...MESSAGE_MARKERS,
      },
      ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(#sk)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    }),
  );
  try {
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: JSON.stringify({ id }) }));
  } catch {
    const at = new Date().toISOString();
    await doc
      .send(
        new UpdateCommand({
          TableName: TABLE,
          Key: messageKey(id),
          UpdateExpression:
            'SET #status = :failed, #updatedAt = :at, #history = list_append(if_not_exists(#history, :empty), :entry)',
          ConditionExpression: 'attribute_exists(#pk) AND #status = :queued',
          ExpressionAttributeNames: {
            '#pk': 'pk',
            '#status': 'status',
            '#updatedAt': 'updatedAt',
            '#history': 'history',
          },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':queued': 'queued',
            ':at': at,
            ':empty': [],
            ':entry': [{ status: 'failed', at, detail: 'could not be queued for sending; not sent' }],
          },
        }),
      )
      .catch(() => undefined);
    return problem(event, 503, 'The message could not be queued; retry later.', {
      headers: { 'retry-after': '5' },
    });
  }
  return reply(202, {
    id,
    to_number: input.to_number,
    message: input.message,
    status: 'queued',
    segments,
    encoding,
    created_at: now,
  });
};
