import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

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

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const { handlerFile } = workerData as { handlerFile: string };
process.setSourceMapsEnabled(true);

const loaded: Promise<Handler> = import(pathToFileURL(handlerFile).href).then((module) => {
  const handler = (module as { handler?: unknown }).handler;
  if (typeof handler !== 'function') throw new Error(`${handlerFile} does not export a handler function`);
  return handler as Handler;
});
// Reported per invocation below; this only keeps an import failure from being "unhandled".
loaded.catch(() => undefined);

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
    reply = { id, result: await handler(message.event, lambdaContext) };
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    reply = {
      id,
      error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) },
    };
  }
  parentPort?.postMessage(reply);
});
