import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '@svc/local/dynamodb';
import { startLocalRuntime } from '@svc/local/runtime';
import { TEST_LIMITS } from './limits.js';

/**
 * One DynamoDB Local and one local runtime (the same system `pnpm dev` starts) for the whole run.
 * Endpoints reach the test workers through the environment: the DynamoDB endpoint exactly as the SDK
 * reads it in Lambda (AWS_ENDPOINT_URL_DYNAMODB), and the gateway as LOCAL_GATEWAY_URL for end-to-end tests.
 */
export default async function setup() {
  const dynamo = await startDynamoDbLocal();
  const table = 'svc-test';
  await ensureTable(dynamo.endpoint, table);
  const verbose = process.env.LOCAL_LOGS === '1';
  const runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: dynamo.endpoint,
    tableName: table,
    schedules: false,
    // The cheapest scrypt the config allows (every gateway registration and login hashes once); the stage's
    // cost and the rehash on login are proven in test/visits/handlers.test.ts at the local preset's 2^14.
    stage: { limits: TEST_LIMITS, settings: { passwordScryptLog2N: 10 } },
    logLevel: verbose ? 'INFO' : 'ERROR',
    ...(verbose ? {} : { log: () => undefined }),
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    TABLE_NAME: table,
    STAGE: 'test',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    // EMF lines off in the test processes (quiet output); test/support/emf.ts turns them on where read.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    LOCAL_GATEWAY_URL: runtime.url,
  });
  // A fresh table: every webhook of the run writes change records, so task reports carry forward.
  const { enableCarryForward } = await import('@svc/tasks/carry-forward');
  await enableCarryForward();
  return async () => {
    await runtime.stop();
    await dynamo.stop();
  };
}
