import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';

interface Session {
  sessionId: string;
  totalModulesStudied: number;
  averageScore: number;
  timeStudied: number;
}

export const handler = async (event: Event) => {
  const userId = event.headers?.['x-user-id'] ?? '';
  const courseId = event.pathParameters?.courseId ?? '';
  const s = JSON.parse(event.body ?? '{}') as Session;
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: TABLE,
            Item: { pk: `BENCH#${userId}#${courseId}`, sk: `SESSION#${s.sessionId}`, ...s },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Update: {
            TableName: TABLE,
            Key: { pk: `BENCH#${userId}#${courseId}`, sk: 'STATS' },
            UpdateExpression: 'ADD sessions :one, modules :m, weightedScoreSum :w, timeStudied :t',
            ExpressionAttributeValues: {
              ':one': 1,
              ':m': s.totalModulesStudied,
              ':w': s.averageScore * s.totalModulesStudied,
              ':t': s.timeStudied,
            },
          },
        },
      ],
    }),
  );
  return reply(201, s);
};
