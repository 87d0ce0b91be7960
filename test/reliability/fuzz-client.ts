import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { gatewayUrl } from '../support/gateway.js';
import { SANE_REQUEST_ID } from './fuzz-inputs.js';

/** One request exactly as it goes on the wire: raw path and query, raw header values, raw body bytes. */
export interface WireRequest {
  method: string;
  /** Path plus `?query`, already percent-encoded. */
  target: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface WireReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

// A fresh connection per request: a reused idle socket the server just closed would look like a fault.
const agent = new Agent({ keepAlive: false });

/** Sends through node:http rather than fetch, so hostile paths and header bytes are not normalised away. */
export function send(req: WireRequest, base = gatewayUrl()): Promise<WireReply> {
  const url = new URL(base);
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.target,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.setTimeout(20_000, () =>
      outgoing.destroy(new Error(`no answer in 20 s: ${req.method} ${req.target}`)),
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export function closeClient(): void {
  agent.destroy();
}

/**
 * What is wrong with a reply, per SPEC §0, or undefined. Every reply carries x-request-id (the caller's
 * own when it was sane); every 4xx/5xx body is exactly the error envelope with the same status and id.
 */
export function contractProblem(reply: WireReply, sentRequestId: string | undefined): string | undefined {
  const id = reply.headers['x-request-id'];
  if (typeof id !== 'string' || id.length === 0) return 'no x-request-id header';
  if (sentRequestId !== undefined && SANE_REQUEST_ID.test(sentRequestId) && id !== sentRequestId)
    return `x-request-id ${id} does not echo the sane ${sentRequestId}`;
  if (reply.status < 400) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    return `error body is not JSON: ${reply.text.slice(0, 200)}`;
  }
  if (!isRecord(body) || !sameKeys(body, ['error'])) return 'error body is not exactly {"error": ...}';
  const error = body.error;
  if (!isRecord(error)) return 'error is not an object';
  const allowed = ['status', 'message', 'request_id', 'errors'];
  if (Object.keys(error).some((k) => !allowed.includes(k)))
    return `unexpected keys in error: ${Object.keys(error)}`;
  if (error.status !== reply.status) return `error.status ${String(error.status)} is not the HTTP status`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'error.message is not a string';
  if (/\n\s+at |node_modules|[A-Za-z]+Error:|Exception/.test(error.message))
    return `error.message leaks internals: ${error.message}`;
  if (error.request_id !== id)
    return `error.request_id ${String(error.request_id)} differs from x-request-id ${id}`;
  if ('errors' in error) {
    const fields = error.errors;
    if (!isRecord(fields) || Object.keys(fields).length === 0) return 'errors is not a non-empty object';
    for (const [field, messages] of Object.entries(fields)) {
      if (!Array.isArray(messages) || messages.length === 0 || !messages.every((m) => typeof m === 'string'))
        return `errors.${field} is not a list of strings`;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameKeys(value: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => own.includes(k));
}

/** Every item of the shared test table, as text (attribute names and values), to look for markers. */
export async function tableText(table = process.env.TABLE_NAME ?? 'svc-test'): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  const items: string[] = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start as never } : {}) }),
      );
      for (const item of page.Items ?? []) items.push(JSON.stringify(item));
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return items;
}

/** What the local fakes (Slack, SES, SMS providers) received, as text. */
export async function outboxText(): Promise<string> {
  const reply = await send({ method: 'GET', target: '/__local/outbox', headers: {} });
  return reply.text;
}
