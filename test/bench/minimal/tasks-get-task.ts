// TasksGetTask, the minimal way: the task item (GetItem) and the newest 1000 audit records of its
// partition (Query, newest first), side by side, as the real one does.
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE, verifyJwt } from './shared.js';
import { EXTERNAL_ID, keys } from './tasks-shared.js';

const MAX_EVENTS = 1000;

type Task = {
  taskId: string;
  userId: string;
  content: string;
  isCompleted: boolean;
  createdAt: string;
  completedAt?: string;
  deletedAt?: string;
};
type Delivery = { event: string; timestamp: string; receivedAt: string; applied: boolean };

async function trail(taskId: string): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': keys.task(taskId).pk, ':sk': '$taskEvent_1#' },
        ProjectionExpression: '#e, #t, receivedAt, applied',
        ExpressionAttributeNames: { '#e': 'event', '#t': 'timestamp' },
        ScanIndexForward: false,
        Limit: MAX_EVENTS - out.length,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...((page.Items ?? []) as Delivery[]));
    start = page.LastEvaluatedKey;
  } while (start && out.length < MAX_EVENTS);
  return out.reverse();
}

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'tasks:read');
  if ('statusCode' in caller) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!EXTERNAL_ID.test(id)) return failure(400, 'Invalid request parameters.');
  const [{ Item }, events] = await Promise.all([
    doc.send(new GetCommand({ TableName: TABLE, Key: keys.task(id) })),
    trail(id),
  ]);
  const t = Item as Task | undefined;
  if (!t) return failure(404, 'Task not found.');
  return reply(200, {
    id: t.taskId,
    userId: t.userId,
    content: t.content,
    isCompleted: t.isCompleted,
    createdAt: t.createdAt,
    completedAt: t.completedAt ?? null,
    deletedAt: t.deletedAt ?? null,
    events: events.map((e) => ({
      event: e.event,
      timestamp: e.timestamp,
      received_at: e.receivedAt,
      applied: e.applied,
    })),
  });
};
