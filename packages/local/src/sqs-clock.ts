import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local time for queues: AWS seconds × this = local seconds. One factor for every visibility timeout
 * and every delay, so their order and ratios hold while failure paths run in seconds: a queue whose AWS
 * visibility timeout is 60 s (6 × the default 10 s function timeout, as the CDK app sets it) hides a
 * failed message for 2 s locally, a consumer's `Retry-After: 30` postpones it 1 s, a 15-minute backoff 30 s.
 */
export const LOCAL_TIME_FACTOR = 1 / 30;

/** Seconds as SQS takes them (local-aws-sqs keeps milliseconds), scaled by `factor`. */
export function scaleSeconds(seconds: number, factor: number): number {
  return Math.round(seconds * factor * 1000) / 1000;
}

export interface SqsClock {
  /** Where every function and test talks SQS: times in their requests are AWS times. */
  endpoint: string;
  factor: number;
  /** Whether someone other than the runtime changed this receipt's visibility (a consumer's Retry-After, a backoff). */
  takeConsumerChange(receiptHandle: string): boolean;
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

/**
 * A loopback proxy in front of the local SQS server that applies the local time factor to what
 * callers ask for: `DelaySeconds` (SendMessage, SendMessageBatch) and `VisibilityTimeout`
 * (ReceiveMessage, ChangeMessageVisibility, ChangeMessageVisibilityBatch), in the JSON protocol the SDK
 * speaks. It also notes which receipts a caller changed the visibility of, so the runtime's event
 * source mapping never overwrites a delay the consumer chose. Everything else passes through untouched.
 */
export async function startSqsClock(backend: string, factor = LOCAL_TIME_FACTOR): Promise<SqsClock> {
  const changed = new Map<string, number>();
  const target = new URL(backend);
  const scale = (value: unknown) => (typeof value === 'number' ? scaleSeconds(value, factor) : value);

  const rewrite = (operation: string, body: Json): Json => {
    switch (operation) {
      case 'SendMessage':
        return 'DelaySeconds' in body ? { ...body, DelaySeconds: scale(body.DelaySeconds) } : body;
      case 'SendMessageBatch':
        return {
          ...body,
          Entries: entries(body).map((e) =>
            'DelaySeconds' in e ? { ...e, DelaySeconds: scale(e.DelaySeconds) } : e,
          ),
        };
      case 'ReceiveMessage':
        return 'VisibilityTimeout' in body
          ? { ...body, VisibilityTimeout: scale(body.VisibilityTimeout) }
          : body;
      case 'ChangeMessageVisibility':
        if (typeof body.ReceiptHandle === 'string') changed.set(body.ReceiptHandle, Date.now());
        return { ...body, VisibilityTimeout: scale(body.VisibilityTimeout) };
      case 'ChangeMessageVisibilityBatch':
        return {
          ...body,
          Entries: entries(body).map((e) => {
            if (typeof e.ReceiptHandle === 'string') changed.set(e.ReceiptHandle, Date.now());
            return { ...e, VisibilityTimeout: scale(e.VisibilityTimeout) };
          }),
        };
      default:
        return body;
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const targetHeader = String(req.headers['x-amz-target'] ?? '');
      const operation = targetHeader.startsWith('AmazonSQS.') ? targetHeader.slice('AmazonSQS.'.length) : '';
      if (operation) {
        try {
          const parsed = JSON.parse(body.toString('utf8')) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
            body = Buffer.from(JSON.stringify(rewrite(operation, parsed as Json)), 'utf8');
        } catch {
          // Not JSON: SQS itself answers that.
        }
      }
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const upstream = request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Receipts are short-lived; forget changes nobody asked about after an hour.
  const sweep = setInterval(() => {
    const before = Date.now() - 3_600_000;
    for (const [handle, at] of changed) if (at < before) changed.delete(handle);
  }, 60_000);
  sweep.unref();
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    factor,
    takeConsumerChange(receiptHandle) {
      return changed.delete(receiptHandle);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function entries(body: Json): Json[] {
  return Array.isArray(body.Entries) ? (body.Entries as Json[]) : [];
}
