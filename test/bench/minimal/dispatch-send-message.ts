import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bearer, doc, type Event, reply, TABLE } from './shared.js';

const sqs = new SQSClient({});
const jwks = createRemoteJWKSet(new URL(process.env.JWT_JWKS_URL ?? 'http://127.0.0.1/'));

export const handler = async (event: Event) => {
  const { payload } = await jwtVerify(bearer(event), jwks, {
    issuer: process.env.JWT_ISSUER,
    audience: process.env.JWT_AUDIENCE,
  });
  if (
    !String(payload.scope ?? '')
      .split(' ')
      .includes('messages:send')
  )
    return reply(403, {});
  const input = JSON.parse(event.body ?? '{}') as { to_number: string; message: string };
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: { pk: `BENCH#SUPPRESSED#${input.to_number}`, sk: 'S' } }),
  );
  if (Item) return reply(422, { message: 'suppressed' });
  const id = randomUUID();
  const now = new Date().toISOString();
  const message = { id, ...input, status: 'queued', created_at: now };
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        pk: `BENCH#MESSAGE#${id}`,
        sk: 'MESSAGE',
        ...message,
        history: [{ status: 'queued', at: now }],
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: process.env.BENCH_MINIMAL_QUEUE_URL,
      MessageBody: JSON.stringify({ id }),
    }),
  );
  return reply(202, message);
};
