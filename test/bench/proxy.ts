import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Operations that accept ReturnConsumedCapacity. */
const CAPACITY_OPS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

export interface Tally {
  calls: Record<string, number>;
  capacity: number;
}

/**
 * A counting HTTP proxy in front of DynamoDB Local: counts requests by X-Amz-Target and asks for
 * ReturnConsumedCapacity=TOTAL on each (DynamoDB Local does not check signatures), summing what comes back.
 * Works for any client, bundled or not, so the real bundles are measured unmodified.
 */
export async function startCountingProxy(target: string) {
  const upstream = new URL(target);
  const tally: Tally = { calls: {}, capacity: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      tally.calls[op] = (tally.calls[op] ?? 0) + 1;
      let body = Buffer.concat(chunks);
      if (CAPACITY_OPS.has(op)) {
        const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        parsed.ReturnConsumedCapacity = 'TOTAL';
        body = Buffer.from(JSON.stringify(parsed));
      }
      const headers = { ...req.headers, 'content-length': String(body.length), host: upstream.host };
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const answer = Buffer.concat(out);
            try {
              const parsed = JSON.parse(answer.toString('utf8')) as {
                ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }>;
              };
              const consumed = parsed.ConsumedCapacity;
              for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : [])
                tally.capacity += c.CapacityUnits ?? 0;
            } catch {
              // not JSON: nothing to add
            }
            const { 'content-length': _, ...rest } = up.headers;
            res.writeHead(up.statusCode ?? 500, { ...rest, 'content-length': String(answer.length) });
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
    tally,
    reset: () => {
      tally.calls = {};
      tally.capacity = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
