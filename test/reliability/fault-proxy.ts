import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsJsonAnswer, startAwsProxy } from '../support/aws-proxy.js';

/** What the proxy answers instead of forwarding, in DynamoDB's own JSON error shapes. */
export type DynamoFault =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'RequestLimitExceeded'
  /** Transactions are cancelled with TransactionConflict reasons; single-item writes get TransactionConflictException. */
  | 'TransactionConflict';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const TRANSACTIONS = new Set(['TransactWriteItems', 'TransactGetItems']);
const PREFIX = 'com.amazonaws.dynamodb.v20120810#';

interface Rule {
  fault: DynamoFault;
  /** X-Amz-Target operations (e.g. `PutItem`) the fault applies to; undefined: every operation it can hit. */
  ops?: ReadonlySet<string>;
}

function errorBody(fault: DynamoFault, op: string, request: Record<string, unknown>): unknown | undefined {
  if (fault !== 'TransactionConflict') {
    return { __type: `${PREFIX}${fault}`, message: 'Injected fault: the request rate is too high.' };
  }
  if (TRANSACTIONS.has(op)) {
    const items = Array.isArray(request.TransactItems) ? request.TransactItems.length : 1;
    const reasons = Array.from({ length: items }, (_, i) =>
      i === 0
        ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
        : { Code: 'None' },
    );
    return {
      __type: `${PREFIX}TransactionCanceledException`,
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
        .map((r) => r.Code)
        .join(', ')}]`,
      CancellationReasons: reasons,
    };
  }
  if (WRITES.has(op)) {
    return {
      __type: `${PREFIX}TransactionConflictException`,
      message: 'Transaction is ongoing for the item',
    };
  }
  // Plain reads never conflict with a transaction in DynamoDB.
  return undefined;
}

/**
 * A fault-injecting HTTP proxy in front of DynamoDB Local: forwards every call, except that while a
 * rule is set it answers the matching X-Amz-Target calls itself with DynamoDB's error body (HTTP 400),
 * persistently, so the SDK's own retries meet the same fault. Counts calls and faults by operation.
 */
export async function startFaultProxy(target: string) {
  let rule: Rule | undefined;
  const calls: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const proxy = await startAwsProxy(target, {
    before: ({ operation: op, body }) => {
      calls[op] = (calls[op] ?? 0) + 1;
      if (!rule || (rule.ops && !rule.ops.has(op))) return undefined;
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        // not JSON: answer the fault anyway
      }
      const answer = errorBody(rule.fault, op, parsed);
      if (answer === undefined) return undefined;
      faults[op] = (faults[op] ?? 0) + 1;
      return awsJsonAnswer(400, answer, `fault-${faults[op]}`);
    },
  });
  return {
    ...proxy,
    calls,
    faults,
    /** Answers `fault` from now on (to `ops` only, when given) until `clear()`. */
    inject(fault: DynamoFault, ops?: readonly string[]) {
      rule = { fault, ...(ops ? { ops: new Set(ops) } : {}) };
      for (const k of Object.keys(faults)) delete faults[k];
    },
    clear() {
      rule = undefined;
    },
  };
}

export type FaultProxy = Awaited<ReturnType<typeof startFaultProxy>>;

/** A canned answer the outage proxy gives instead of forwarding. */
export interface CannedAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * A forwarding HTTP proxy for any other AWS stand-in (SQS, SES): while `fail(answer)` is set it answers
 * every call itself, persistently, so the SDK's own retries meet the same outage. Counts the calls it failed.
 */
export async function startOutageProxy(target: string) {
  let answer: CannedAnswer | undefined;
  const state = { failed: 0 };
  const proxy = await startAwsProxy(target, {
    before: () => {
      if (!answer) return undefined;
      state.failed += 1;
      return {
        status: answer.status,
        headers: { 'content-type': answer.contentType, 'x-amzn-requestid': `outage-${state.failed}` },
        body: Buffer.from(answer.body),
      };
    },
  });
  return {
    ...proxy,
    state,
    fail(canned: CannedAnswer) {
      answer = canned;
      state.failed = 0;
    },
    clear() {
      answer = undefined;
    },
  };
}

export type OutageProxy = Awaited<ReturnType<typeof startOutageProxy>>;

/** SQS (JSON protocol) down: a 503 the SDK retries, then gives up on. */
export const SQS_DOWN: CannedAnswer = {
  status: 503,
  contentType: 'application/x-amz-json-1.0',
  body: JSON.stringify({ __type: 'com.amazonaws.sqs#ServiceUnavailable', message: 'Injected SQS outage.' }),
};

/** SES (query protocol) throttling: "Maximum sending rate exceeded". */
export const SES_THROTTLED: CannedAnswer = {
  status: 400,
  contentType: 'text/xml',
  body: '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>injected</RequestId></ErrorResponse>',
};

export type ProviderBehaviour =
  /** Forward to the fake provider at once. */
  | { kind: 'pass' }
  /** Forward, but answer only after `delayMs` (the fake has accepted by then; the caller may have given up). */
  | { kind: 'slow'; delayMs: number }
  /** Never answer (the connection stays open until the caller gives up). */
  | { kind: 'silent' };

/**
 * Stands between the sender and the fake SMS providers, so a provider can be made slow or silent
 * (the fakes themselves only know ok/down/flaky). Records every call and what it was made to do.
 */
export async function startProviderFront(targets: Record<string, string>) {
  const behaviour = new Map<string, ProviderBehaviour>();
  const calls: { provider: string; kind: ProviderBehaviour['kind']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const provider = (req.url ?? '/').split('/')[1] ?? '';
      const target = targets[provider];
      const body = Buffer.concat(chunks);
      const how = behaviour.get(provider) ?? { kind: 'pass' };
      calls.push({ provider, kind: how.kind, body: body.toString('utf8') });
      if (!target) {
        res.writeHead(404).end();
        return;
      }
      if (how.kind === 'silent') return;
      const url = new URL(target);
      const forward = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const reply = () => {
              if (res.destroyed) return;
              res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' });
              res.end(Buffer.concat(out));
            };
            if (how.kind === 'slow') setTimeout(reply, how.delayMs).unref();
            else reply();
          });
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (provider: string) => `${base}/${provider}`,
    calls,
    set(provider: string, how: ProviderBehaviour) {
      behaviour.set(provider, how);
    },
    reset() {
      behaviour.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type ProviderFront = Awaited<ReturnType<typeof startProviderFront>>;
