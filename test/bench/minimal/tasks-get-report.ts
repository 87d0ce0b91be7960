// TasksGetReport, the minimal way: the report's index item (one GetItem, eventually consistent like the
// real one), then its document from S3.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, failure, reply, TABLE, verifyJwt } from './shared.js';
import { BUCKET, keys, s3Client } from './tasks-shared.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'tasks:read');
  if ('statusCode' in caller) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!UUID.test(id)) return failure(400, 'Invalid request parameters.');
  const { Item } = await doc.send(new GetCommand({ TableName: TABLE, Key: keys.report(id) }));
  if (Item?.status !== 'stored') return failure(404, 'Report not found.');
  let text: string | undefined;
  try {
    const out = await s3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: String(Item.objectKey) }));
    text = await out.Body?.transformToString('utf-8');
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchKey') throw error;
  }
  if (!text) return failure(404, 'Report not found.');
  return reply(200, JSON.parse(text));
};
