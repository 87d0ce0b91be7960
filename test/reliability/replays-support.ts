import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  const upstream = new URL(target);
  const faults = new Set<DynamoFault>();
  let injected = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const headers = { ...req.headers, host: upstream.host };
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const answer = Buffer.concat(out);
            const call = { operation, request: body.toString('utf8'), response: answer.toString('utf8') };
            if ([...faults].some((fault) => fault(call))) {
              injected++;
              const error = Buffer.from(
                JSON.stringify({
                  __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
                  message: 'Internal server error (injected outage)',
                }),
              );
              res.writeHead(500, {
                'content-type': 'application/x-amz-json-1.0',
                'content-length': String(error.length),
              });
              res.end(error);
              return;
            }
            res.writeHead(up.statusCode ?? 500, up.headers);
            res.end(answer);
          });
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads or writes whose request or answer mentions `marker` (a string unique to one test's data). */
export const mentioning =
  (operations: readonly string[], marker: string): DynamoFault =>
  (call) =>
    operations.includes(call.operation) && (call.request.includes(marker) || call.response.includes(marker));
