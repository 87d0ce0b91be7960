import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '@svc/local/dynamodb';

/**
 * One DynamoDB Local for the whole run. Its endpoint reaches the test workers through the environment,
 * exactly as the SDK reads it in Lambda (AWS_ENDPOINT_URL_DYNAMODB), so handlers need no test hooks.
 */
export default async function setup() {
  const dynamo = await startDynamoDbLocal();
  const table = 'svc-test';
  await ensureTable(dynamo.endpoint, table);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    TABLE_NAME: table,
    STAGE: 'test',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
  });
  return async () => {
    await dynamo.stop();
  };
}
