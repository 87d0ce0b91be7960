// The "limit": hand-written handlers that do the same DynamoDB work as the real ones with the bare SDK
// (DocumentClient), no middleware, no validation library, no ElectroDB. Own key scheme (BENCH#...).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const TABLE = process.env.TABLE_NAME ?? '';
export const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export interface Event {
  headers?: Record<string, string | undefined>;
  pathParameters?: Record<string, string | undefined>;
  body?: string;
}

export const reply = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export const bearer = (event: Event): string =>
  (event.headers?.authorization ?? '').replace(/^Bearer\s+/i, '');
