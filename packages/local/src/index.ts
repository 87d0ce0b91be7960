export { apiGatewayEvent, apiGatewayResponse, RouteMatcher } from './api-events.js';
export { ensureTable, freePort, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb.js';
export {
  allFunctions,
  functionEnvironment,
  type LocalEndpoints,
  localQueueUrl,
  localStage,
} from './environment.js';
export { Fakes, type SlackPost, type SmsCall } from './fakes.js';
export { FunctionHost, InvocationError } from './functions.js';
export { type LocalRuntime, type LocalRuntimeOptions, scheduledEvent, startLocalRuntime } from './runtime.js';
export { startLocalS3 } from './s3-server.js';
export { startLocalSes } from './ses-server.js';
export { startLocalSsm } from './ssm-server.js';
