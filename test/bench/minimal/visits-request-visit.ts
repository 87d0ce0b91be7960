import { randomUUID } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { jwtVerify } from 'jose';
import { doc, type Event, reply, TABLE } from './shared.js';

const ssm = new SSMClient({});
let secret: Uint8Array | undefined;

export const handler = async (event: Event) => {
  secret ??= new TextEncoder().encode(
    (
      await ssm.send(
        new GetParameterCommand({ Name: process.env.PARAM_VISITS_TOKEN_SECRET, WithDecryption: true }),
      )
    ).Parameter?.Value ?? '',
  );
  const token = (event.headers?.authorization ?? '').replace(/^Bearer\s+/i, '');
  const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: 'svc-visits' });
  const userId = String(payload.sub);
  const userKey = { pk: `BENCH#USER#${userId}`, sk: 'USER' };
  const { Item } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: userKey, ConsistentRead: true, ProjectionExpression: 'pk' }),
  );
  if (!Item) return reply(401, { message: 'unknown user' });
  const input = JSON.parse(event.body ?? '{}') as { date: string; minutes: number; tasks: unknown[] };
  const visit = { id: randomUUID(), member_id: userId, status: 'requested', ...input };
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: TABLE,
            Key: userKey,
            UpdateExpression: 'ADD reserved :m, available :neg',
            ConditionExpression: 'available >= :m AND attribute_not_exists(closing)',
            ExpressionAttributeValues: { ':m': input.minutes, ':neg': -input.minutes },
          },
        },
        {
          Put: {
            TableName: TABLE,
            Item: { pk: `BENCH#VISIT#${visit.id}`, sk: 'VISIT', ...visit },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    }),
  );
  return reply(201, { data: visit });
};
