import type { AddressInfo } from 'node:net';
import { createSqsServer } from 'local-aws-sqs';
import { LOCAL_REGION } from './dynamodb.js';
import { LOCAL_ACCOUNT_ID } from './environment.js';

export interface RunningSqs {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * SQS on loopback (local-aws-sqs, in-process, no dependencies): the JSON protocol the SDK speaks,
 * redrive policies (maxReceiveCount → DLQ) and StartMessageMoveTask, the API behind the console's
 * "Start DLQ redrive".
 */
export async function startLocalSqs(): Promise<RunningSqs> {
  const server = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    // AWS makes you wait 60 s before re-creating a deleted queue; locally queues are created at every start.
    emulateQueueCreationLifecycle: false,
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
