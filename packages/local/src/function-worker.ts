import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { MAX_INVOKE_PAYLOAD_BYTES, payloadBytes } from './api-events.js';

/**
 * The body of one local "Lambda container": a worker thread with its own process.env (the function's
 * environment) and its own module graph, so config read at cold start and module singletons are per
 * function, as in AWS. Messages in: `{id, event, context}`; out: `{id, result}` or `{id, error}`.
 */
export interface InvokeMessage {
  id: number;
  event: unknown;
  context: {
    functionName: string;
    awsRequestId: string;
    memoryLimitInMB: string;
    deadline: number;
  };
}

export type InvokeReply =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string; stack?: string } };

/** Sent once, when the handler module has loaded (or failed to): the end of the sandbox's init phase. */
export interface ReadyMessage {
  ready: true;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const { handlerFile } = workerData as { handlerFile: string };
process.setSourceMapsEnabled(true);

const loaded: Promise<Handler> = import(pathToFileURL(handlerFile).href).then((module) => {
  const handler = (module as { handler?: unknown }).handler;
  if (typeof handler !== 'function') throw new Error(`${handlerFile} does not export a handler function`);
  return handler as Handler;
});
// An import failure is reported per invocation below; either way the init phase is over.
loaded.then(
  () => parentPort?.postMessage({ ready: true } satisfies ReadyMessage),
  () => parentPort?.postMessage({ ready: true } satisfies ReadyMessage),
);

parentPort?.on('message', async (message: InvokeMessage) => {
  const { id, context } = message;
  const lambdaContext = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: context.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${context.functionName}`,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: `/aws/lambda/${context.functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let reply: InvokeReply;
  try {
    const handler = await loaded;
    const result = await handler(message.event, lambdaContext);
    // Lambda fails a synchronous invocation whose response is over its payload quota.
    const size = payloadBytes(result);
    if (size > MAX_INVOKE_PAYLOAD_BYTES) {
      const error = new Error(
        `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_INVOKE_PAYLOAD_BYTES} bytes).`,
      );
      error.name = 'Function.ResponseSizeTooLarge';
      throw error;
    }
    reply = { id, result };
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    reply = {
      id,
      error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) },
    };
  }
  parentPort?.postMessage(reply);
});
