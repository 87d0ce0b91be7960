import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call through the proxy: the operation from X-Amz-Target (e.g. `PutItem`) and the request body. */
export interface ProxiedCall {
  operation: string;
  body: Buffer;
}

export interface ProxyAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxyHooks {
  /** Before forwarding: an answer to give instead, or a new request body to forward. */
  before?(call: ProxiedCall): ProxyAnswer | Buffer | undefined | Promise<ProxyAnswer | Buffer | undefined>;
  /** After the service answered: the answer the client gets (default: the service's own). */
  after?(call: ProxiedCall, answer: ProxyAnswer): ProxyAnswer | Promise<ProxyAnswer>;
}

/** An answer in the AWS JSON protocol's shape (errors and results alike). */
export function awsJsonAnswer(status: number, body: unknown, requestId = 'proxy'): ProxyAnswer {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/**
 * An HTTP proxy in front of a local AWS stand-in (DynamoDB Local, SQS, SES) for tests and benchmarks
 * that count, rewrite or fail calls. Works for any client, bundled or not: point its endpoint variable
 * (AWS_ENDPOINT_URL_DYNAMODB, …) at `endpoint`.
 */
export async function startAwsProxy(target: string, hooks: ProxyHooks = {}) {
  const upstream = new URL(target);
  const send = (res: import('node:http').ServerResponse, answer: ProxyAnswer) => {
    const { 'content-length': _, 'transfer-encoding': __, ...headers } = answer.headers;
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
    res.end(answer.body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      const call: ProxiedCall = { operation, body: Buffer.concat(chunks) };
      const early = await hooks.before?.(call);
      if (early && !Buffer.isBuffer(early)) return send(res, early);
      if (early) call.body = early;
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(call.body.length) };
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', async () => {
            const answer = { status: up.statusCode ?? 500, headers: up.headers, body: Buffer.concat(out) };
            send(res, hooks.after ? await hooks.after(call, answer) : answer);
          });
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forward.end(call.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
