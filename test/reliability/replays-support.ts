import { awsJsonAnswer, startAwsProxy } from '../support/aws-proxy.js';

/** One DynamoDB call as the proxy saw it: the operation (X-Amz-Target) and both JSON bodies as text. */
export interface DynamoCall {
  operation: string;
  request: string;
  response: string;
}

/** Decides whether a call is answered with an outage instead of DynamoDB's own answer. */
export type DynamoFault = (call: DynamoCall) => boolean;

/**
 * An HTTP proxy in front of DynamoDB Local that turns chosen calls into an outage: the call is
 * forwarded, and when a fault matches, the client gets DynamoDB's 500 InternalServerError instead of
 * the answer. Faults are meant for reads (GetItem, Query): a matched write would still have happened.
 * The error is retryable, so the SDK's own retries hit the outage too and the handler sees it.
 */
export async function startDynamoFaultProxy(target: string) {
  const faults = new Set<DynamoFault>();
  let injected = 0;
  const proxy = await startAwsProxy(target, {
    after: ({ operation, body }, answer) => {
      const call = { operation, request: body.toString('utf8'), response: answer.body.toString('utf8') };
      if (![...faults].some((fault) => fault(call))) return answer;
      injected++;
      return awsJsonAnswer(500, {
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: 'Internal server error (injected outage)',
      });
    },
  });
  return {
    ...proxy,
    /** Starts an outage for the calls `fault` matches; the returned function ends it. */
    fail(fault: DynamoFault): () => void {
      faults.add(fault);
      return () => {
        faults.delete(fault);
      };
    },
    /** How many calls were answered with an injected error. */
    get injected() {
      return injected;
    },
  };
}

/** Reads or writes whose request or answer mentions `marker` (a string unique to one test's data). */
export const mentioning =
  (operations: readonly string[], marker: string): DynamoFault =>
  (call) =>
    operations.includes(call.operation) && (call.request.includes(marker) || call.response.includes(marker));
