import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';

export const handler = async (event: Event) => {
  const userId = event.headers?.['x-user-id'] ?? '';
  const courseId = event.pathParameters?.courseId ?? '';
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: `BENCH#${userId}#${courseId}`, sk: 'STATS' },
      ConsistentRead: true,
    }),
  );
  if (!Item?.sessions) return reply(404, { message: 'not found' });
  const modules = Number(Item.modules ?? 0);
  return reply(200, {
    totalModulesStudied: modules,
    averageScore: modules ? Number(Item.weightedScoreSum) / modules : 0,
    timeStudied: Number(Item.timeStudied ?? 0),
  });
};
