import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ROUTING_RULES_PARAMETER } from '@svc/assistance/routes';
import { DEFAULT_ROUTING_RULES } from '@svc/assistance/rules';
import { dispatchDb } from '@svc/dispatch/entities';
import { toE164 } from '@svc/dispatch/phone';
import { services } from '@svc/infra/services';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION } from '@svc/local/dynamodb';
import { allFunctions, localDeadLetterQueueUrl, localQueueUrl } from '@svc/local/environment';
import { InvocationError } from '@svc/local/functions';
import { localSqsClient } from '@svc/local/queues';
import { type LocalRuntime, startLocalRuntime } from '@svc/local/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_LIMITS } from '../support/limits.js';
import { waitUntil } from '../support/wait.js';
import { mentioning, startDynamoFaultProxy } from './replays-support.js';

/**
 * SPEC §7 "every consumer is safe to replay", for every queue the services declare: messages reach the
 * DLQ the way production puts them there (providers down, the table failing for the consumer), next to
 * copies of messages whose work had already succeeded (a delete that failed, a duplicate); the DLQ is
 * redriven with StartMessageMoveTask (`POST /__local/queues/{name}/redrive`), drained, filled with the
 * same messages again and redriven a second time. Every request's side effect (SMS accepted, Slack post,
 * email, S3 report and its index item) must exist exactly once, with a final status.
 *
 * Outages are global fake state, so this file runs its own runtime (own table, queues, fakes), with
 * DynamoDB behind a fault proxy; the scenarios run concurrently on disjoint queues and data.
 */

const QUEUES = services.flatMap((service) => service.queues ?? []);
const DOOMED_TOPIC = 'replays-no-fallback';

let runtime: LocalRuntime;
let proxy: Awaited<ReturnType<typeof startDynamoFaultProxy>>;
let sqs: SQSClient;
let s3: S3Client;

beforeAll(async () => {
  const dynamodb = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!dynamodb)
    throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set: the global setup starts DynamoDB Local');
  const tableName = 'svc-replays-test';
  await ensureTable(dynamodb, tableName);
  proxy = await startDynamoFaultProxy(dynamodb);
  runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: proxy.endpoint,
    tableName,
    schedules: false,
    callbackDelayMs: 50,
    // Room for a busy machine: a provider answer later than the provider timeout is failed over by
    // design (SPEC §5), a second SMS no replay caused, and a callback route that times out loses the
    // fake's only callback. Neither is what this file is about.
    stage: {
      settings: { providerTimeoutMs: 10_000 },
      functions: { timeoutSeconds: 30 },
      limits: TEST_LIMITS,
    },
    // The default rules plus a Slack topic without a fallback, whose requests can fail for good.
    parameters: {
      [ROUTING_RULES_PARAMETER]: JSON.stringify({
        rules: [...DEFAULT_ROUTING_RULES.rules, { topic: DOOMED_TOPIC, channel: 'slack' }],
      }),
    },
    logLevel: process.env.LOCAL_LOGS === '1' ? 'INFO' : 'ERROR',
    log: process.env.LOCAL_LOGS === '1' ? undefined : () => undefined,
  });
  sqs = localSqsClient(runtime.endpoints.sqs);
  s3 = new S3Client({
    endpoint: runtime.endpoints.s3,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  await warmUp();
}, 180_000);

/**
 * Cold-starts every function of the services that own a queue before the scenarios run, two at a time,
 * so a slow first import on a busy machine cannot time out an invocation mid-scenario (which would
 * itself be a retry). The events do nothing: empty batches, and an empty event to routes and the planner.
 */
async function warmUp() {
  const owners = new Set(services.filter((s) => (s.queues ?? []).length > 0).map((s) => s.name));
  const pending = allFunctions(runtime.services).filter((fn) => owners.has(fn.service.name));
  const worker = async () => {
    for (let fn = pending.shift(); fn; fn = pending.shift()) {
      const event = fn.kind === 'consumer' ? { Records: [] } : {};
      for (let attempt = 0; attempt < 3; attempt++) {
        const outcome = await runtime.invoke(fn.entry.functionName, event).catch((error: unknown) => error);
        if (!(outcome instanceof InvocationError && outcome.kind === 'timeout')) break;
      }
    }
  };
  await Promise.all([worker(), worker()]);
}

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
  await runtime?.stop();
  await proxy?.stop();
});

// ---------------------------------------------------------------------------------------------------
// Helpers over the runtime's HTTP API and its SQS endpoint

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  body: any;
}

async function http(method: string, path: string, body?: unknown, token?: string): Promise<Reply> {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitUntil(what, probe, timeoutMs);

const counts = async (queue: string) => {
  const all = (await http('GET', '/__local/queues')).body as Record<
    string,
    { visible: number; in_flight: number; dlq: number }
  >;
  const found = all[queue];
  if (!found) throw new Error(`the runtime has no queue ${queue}`);
  return found;
};

/**
 * Waits until the queue is settled (nothing visible or in flight) with exactly `dlq` messages in its DLQ.
 * Generous: an invocation that timed out on a busy machine keeps its message hidden for its timeout + 5 s.
 */
async function settled(queue: string, dlq: number) {
  let last: unknown;
  try {
    return await until(
      `${queue} to settle with ${dlq} in its DLQ`,
      async () => {
        const first = await counts(queue);
        last = first;
        if (first.visible + first.in_flight !== 0 || first.dlq !== dlq) return undefined;
        // Still so a moment later: a message between two receives is visible, never gone.
        await sleep(400);
        const again = await counts(queue);
        last = again;
        return again.visible + again.in_flight === 0 && again.dlq === dlq ? again : undefined;
      },
      90_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last counts ${JSON.stringify(last)}`);
  }
}

const dlqUrl = (queue: string) => localDeadLetterQueueUrl(runtime.endpoints.sqs, runtime.stage.name, queue);

/** The bodies in a DLQ, parsed, left in place (visible again) for the redrive. */
async function deadLetters(queue: string): Promise<unknown[]> {
  const expected = (await counts(queue)).dlq;
  const seen = new Map<string, Message>();
  for (let round = 0; round < 20 && seen.size < expected; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl(queue),
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
      }),
    );
    for (const m of Messages) if (m.MessageId) seen.set(m.MessageId, m);
  }
  for (const m of seen.values())
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: dlqUrl(queue),
        ReceiptHandle: m.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  return [...seen.values()].map((m) => JSON.parse(m.Body ?? 'null') as unknown);
}

/** What a message the DLQ received looks like: the same body, as SQS moved it after its last receive. */
async function putInDlq(queue: string, bodies: readonly unknown[]): Promise<void> {
  for (const body of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl(queue), MessageBody: JSON.stringify(body) }));
}

const redrive = async (queue: string): Promise<number> => {
  const reply = await http('POST', `/__local/queues/${queue}/redrive`);
  expect(reply.status).toBe(200);
  return reply.body.moved as number;
};

const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));

/**
 * The part every queue shares. `failed` are the bodies the outage must have left in the DLQ; `done` are
 * copies of messages whose work had already succeeded. Redrive once, drain, put every one of them in
 * the DLQ again, redrive a second time, drain; a third redrive finds nothing left.
 */
async function redriveTwice(queue: string, failed: readonly unknown[], done: readonly unknown[]) {
  await settled(queue, failed.length);
  expect((await deadLetters(queue)).sort(byJson)).toEqual([...failed].sort(byJson));
  await putInDlq(queue, done);
  expect(await redrive(queue)).toBe(failed.length + done.length);
  await settled(queue, 0);

  await putInDlq(queue, [...failed, ...done]);
  expect(await redrive(queue)).toBe(failed.length + done.length);
  await settled(queue, 0);
  expect(await redrive(queue)).toBe(0);
}

const outbox = async () =>
  (await http('GET', '/__local/outbox')).body as {
    slack: { text: unknown; blocks: unknown }[];
    email: { to: string[]; subject: string; body: string }[];
    sms: { provider: string; to_number: string; status_code: number; message_id?: string }[];
  };

const token = (scope: string, sub = `replays-${randomUUID()}`) => runtime.issuer.issue({ scope, sub });

const providers = async (mode: 'ok' | 'down') => {
  for (const name of ['provider1', 'provider2'])
    expect((await http('POST', `/__local/providers/${name}`, { mode })).status).toBe(200);
};

const usedNumbers = new Set<string>();
function uniqueNumber(): string {
  for (;;) {
    const candidate = toE164(
      `628${200 + Math.floor(Math.random() * 700)}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`,
    );
    if (candidate && !usedNumbers.has(candidate)) {
      usedNumbers.add(candidate);
      return candidate;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// One scenario per queue. A queue added to a service without one here fails the coverage test below.

/** A status-callback receiver on 127.0.0.1 counting the acknowledged (2xx) callbacks per event id. */
async function callbackReceiver(port = 0) {
  const acknowledged = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-event-id']);
      acknowledged.set(id, (acknowledged.get(id) ?? 0) + 1);
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms-status`,
    acknowledged,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const scenarios: Record<string, () => Promise<void>> = {
  /**
   * Status callbacks: a receiver down through every attempt, then back; plus a copy of a job whose
   * callback was already acknowledged. The messages are written `sent` directly and announced by hand, so
   * the provider outages of the dispatch-send scenario running beside this one cannot add statuses.
   */
  'dispatch-status-callbacks': async () => {
    const queue = 'dispatch-status-callbacks';
    const live = await callbackReceiver();
    const probe = await callbackReceiver();
    const downUrl = probe.url;
    await probe.stop();
    const sentMessage = async (statusCallbackUrl: string) => {
      const id = randomUUID();
      const at = new Date().toISOString();
      await dispatchDb()
        .entities.message.create({
          id,
          toNumber: uniqueNumber(),
          message: 'replay my callback',
          segments: 1,
          encoding: 'GSM-7',
          createdAt: at,
          updatedAt: at,
          status: 'sent',
          provider: 'provider1',
          providerMessageId: randomUUID(),
          history: [
            { status: 'queued', at },
            { status: 'sent', at, provider: 'provider1' },
          ],
          statusCallbackUrl,
        })
        .go({ table: runtime.tableName });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: localQueueUrl(runtime.endpoints.sqs, runtime.stage.name, queue),
          MessageBody: JSON.stringify({ id }),
        }),
      );
      return id;
    };
    try {
      const done = await sentMessage(live.url);
      await until('the live receiver to acknowledge', async () =>
        live.acknowledged.get(`${done}:sent:1`) ? true : undefined,
      );
      const failed = await sentMessage(downUrl);
      await settled(queue, 1);
      // The receiver is back on the same port.
      const late = await callbackReceiver(Number(new URL(downUrl).port));
      try {
        await redriveTwice(queue, [{ id: failed }], [{ id: done }]);
        expect(Object.fromEntries(live.acknowledged)).toEqual({ [`${done}:sent:1`]: 1 });
        expect(Object.fromEntries(late.acknowledged)).toEqual({ [`${failed}:sent:1`]: 1 });
      } finally {
        await late.stop();
      }
    } finally {
      await live.stop();
    }
  },
  /** SMS: both providers down through every attempt, then recovery; plus a copy of a message already sent. */
  'dispatch-send': async () => {
    const auth = await token('messages:send messages:read');
    const send = async () => {
      const to = uniqueNumber();
      const reply = await http('POST', '/messages', { to_number: to, message: 'replay me' }, auth);
      expect(reply.status).toBe(202);
      return { id: reply.body.id as string, to };
    };
    const statusOf = (id: string, status: string) =>
      until(`message ${id} to be ${status}`, async () => {
        const reply = await http('GET', `/messages/${id}`, undefined, auth);
        return reply.body?.status === status ? reply.body : undefined;
      });

    const sent = await send();
    await statusOf(sent.id, 'delivered');

    await providers('down');
    const outage = [await send(), await send()];
    for (const m of outage) await statusOf(m.id, 'failed');
    await settled('dispatch-send', outage.length);
    await providers('ok');

    await redriveTwice(
      'dispatch-send',
      outage.map((m) => ({ id: m.id })),
      [{ id: sent.id }],
    );
    for (const m of outage) await statusOf(m.id, 'delivered');
    await sleep(1_000);

    const { sms } = await outbox();
    for (const m of [sent, ...outage]) {
      const accepted = sms.filter((call) => call.to_number === m.to && call.status_code === 200);
      expect(accepted, `provider calls accepted for ${m.to}`).toHaveLength(1);
      const message = (await http('GET', `/messages/${m.id}`, undefined, auth)).body;
      expect(message).toMatchObject({ status: 'delivered', provider_message_id: accepted[0]?.message_id });
      const statuses = (message.history as { status: string }[]).map((h) => h.status);
      expect(statuses.filter((s) => s === 'sent')).toHaveLength(1);
      expect(statuses.slice(-2)).toEqual(['sent', 'delivered']);
    }
  },

  /**
   * Slack: the table failing for the consumer (the request stays queued, the message goes to the DLQ);
   * Slack down through every attempt (the rule's email fallback takes over, or without one the request
   * fails for good; nothing goes to the DLQ); and copies of all those requests' messages.
   */
  'assistance-slack': async () => {
    const sub = `replays-${randomUUID()}`;
    const auth = await token('request-assistance', sub);
    const ask = async (description: string, topic = 'sales') => {
      const reply = await http('POST', '/assistance', { topic, description }, auth);
      expect(reply.status).toBe(202);
      expect(reply.body.channel).toBe('slack');
      return reply.body.id as string;
    };
    const stateOf = (id: string, status: string) =>
      until(`request ${id} to be ${status}`, async () => {
        const reply = await http('GET', `/assistance/${id}`, undefined, auth);
        return reply.body?.status === status ? reply.body : undefined;
      });

    const delivered = await ask('delivered before any outage');
    await stateOf(delivered, 'delivered');

    const marker = `table-outage-${randomUUID()}`;
    const heal = proxy.fail(mentioning(['GetItem'], marker));
    expect((await http('POST', '/__local/slack', { mode: 'down' })).status).toBe(200);
    const stranded = await ask(`read fails: ${marker}`);
    const handedOver = await ask('slack is down for every attempt');
    const doomed = await ask('slack is down and there is no fallback', DOOMED_TOPIC);
    const fallback = await stateOf(handedOver, 'delivered');
    expect(fallback.channel).toBe('email');
    await stateOf(doomed, 'failed');
    await settled('assistance-slack', 1);
    heal();
    expect((await http('POST', '/__local/slack', { mode: 'ok' })).status).toBe(200);

    await redriveTwice(
      'assistance-slack',
      [{ requestId: stranded, channel: 'slack' }],
      [
        { requestId: delivered, channel: 'slack' },
        { requestId: handedOver, channel: 'slack' },
        { requestId: doomed, channel: 'slack' },
      ],
    );
    const recovered = await stateOf(stranded, 'delivered');
    expect(recovered.channel).toBe('slack');
    await sleep(1_000);

    const { slack, email } = await outbox();
    const postsFor = (id: string) => slack.filter((post) => JSON.stringify(post.blocks).includes(id));
    const mailsFor = (id: string) => email.filter((mail) => mail.body.includes(id));
    expect(postsFor(delivered)).toHaveLength(1);
    expect(postsFor(stranded)).toHaveLength(1);
    expect(postsFor(handedOver)).toHaveLength(0);
    expect(mailsFor(handedOver)).toHaveLength(1);
    expect(mailsFor(delivered)).toHaveLength(0);
    expect(mailsFor(stranded)).toHaveLength(0);
    for (const id of [delivered, stranded, handedOver])
      expect((await http('GET', `/assistance/${id}`, undefined, auth)).body.status).toBe('delivered');
    // Failed for good stays failed: a replay is not a second chance to post it after all.
    expect(postsFor(doomed)).toHaveLength(0);
    expect(mailsFor(doomed)).toHaveLength(0);
    expect((await http('GET', `/assistance/${doomed}`, undefined, auth)).body.status).toBe('failed');
  },

  /** Email: the table failing for the consumer, then recovery; plus a copy of an already mailed request. */
  'assistance-email': async () => {
    const auth = await token('request-assistance');
    const ask = async (description: string) => {
      const reply = await http('POST', '/assistance', { topic: 'pricing', description }, auth);
      expect(reply.status).toBe(202);
      expect(reply.body.channel).toBe('email');
      return reply.body.id as string;
    };
    const stateOf = (id: string, status: string) =>
      until(`request ${id} to be ${status}`, async () => {
        const reply = await http('GET', `/assistance/${id}`, undefined, auth);
        return reply.body?.status === status ? reply.body : undefined;
      });

    const mailed = await ask('mailed before any outage');
    await stateOf(mailed, 'delivered');

    const marker = `table-outage-${randomUUID()}`;
    const heal = proxy.fail(mentioning(['GetItem'], marker));
    const stranded = await ask(`read fails: ${marker}`);
    await settled('assistance-email', 1);
    heal();

    await redriveTwice(
      'assistance-email',
      [{ requestId: stranded, channel: 'email' }],
      [{ requestId: mailed, channel: 'email' }],
    );
    await stateOf(stranded, 'delivered');
    await sleep(1_000);

    const { email } = await outbox();
    for (const id of [mailed, stranded]) {
      const mails = email.filter((mail) => mail.body.includes(id));
      expect(mails, `emails for ${id}`).toHaveLength(1);
      expect(mails[0]?.subject).toBe('Assistance request: pricing');
      expect((await http('GET', `/assistance/${id}`, undefined, auth)).body.status).toBe('delivered');
    }
  },

  /**
   * Reports: the table failing for one user's report (its task queries), then recovery; the other
   * user's report is written at once, and a copy of its job is replayed too.
   */
  'task-reports': async () => {
    const auth = await token('tasks:read');
    const marker = `table-outage-${randomUUID()}`;
    const healthy = `replays-${randomUUID()}`;
    const failing = `replays-${randomUUID()}`;
    for (const [userId, content] of [
      [healthy, 'an open task'],
      [failing, `an open task, ${marker}`],
    ] as const) {
      const reply = await http('POST', '/webhook', {
        event: 'created',
        timestamp: new Date(Date.now() - 1_000).toISOString(),
        metadata: { userId, id: `task-${randomUUID()}`, content, isCompleted: false },
      });
      expect(reply.status).toBe(202);
    }
    const reportsOf = async (userId: string) =>
      (await http('GET', `/task-reports?userId=${encodeURIComponent(userId)}`, undefined, auth)).body
        .data as { id: string; userId: string; period: { start: string; end: string } }[];

    const heal = proxy.fail(mentioning(['Query'], marker));
    const run = await http('POST', '/__local/schedules/task-reports/run');
    expect(run.status).toBe(200);
    const window = run.body.result.window as { start: string; end: string };
    // The planner enqueues shard jobs; they find both users and enqueue one report job each.
    expect(run.body.result.shards).toBeGreaterThan(0);
    await until('the healthy report', async () => ((await reportsOf(healthy)).length > 0 ? true : undefined));
    await settled('task-reports', 1);
    expect(await reportsOf(failing)).toEqual([]);
    heal();

    await redriveTwice('task-reports', [{ userId: failing, ...window }], [{ userId: healthy, ...window }]);
    await until('the recovered report', async () =>
      (await reportsOf(failing)).length > 0 ? true : undefined,
    );

    for (const userId of [healthy, failing]) {
      const reports = await reportsOf(userId);
      expect(reports, `report index items of ${userId}`).toHaveLength(1);
      expect(reports[0]).toMatchObject({ userId, period: window });
      const objects = await s3.send(
        new ListObjectsV2Command({ Bucket: runtime.bucketName, Prefix: `task_report_${userId}_` }),
      );
      expect((objects.Contents ?? []).map((o) => o.Key)).toEqual([
        `task_report_${userId}_${window.start}_${window.end}.json`,
      ]);
      const document = await http('GET', `/task-reports/${reports[0]?.id}`, undefined, auth);
      expect(document.status).toBe(200);
      expect(document.body).toMatchObject({ userId, period: window });
      // The warm-up ran the planner once, so a task may fall just before this window: count both lists.
      expect([...document.body.newIncompleteTasks, ...document.body.oldIncompleteTasks]).toHaveLength(1);
    }
  },
};

describe('DLQ replays: every queue redriven twice causes each side effect once', () => {
  it('has a replay scenario for every queue the services declare, and the runtime gives each a DLQ', async () => {
    expect(QUEUES.length).toBeGreaterThan(0);
    expect(Object.keys(scenarios).sort()).toEqual([...QUEUES].sort());
    const all = (await http('GET', '/__local/queues')).body as Record<string, { dlq: number }>;
    for (const queue of QUEUES) expect(all[queue]?.dlq, `${queue} has a DLQ`).toBe(0);
  });

  it.concurrent.each(QUEUES)(
    '%s',
    async (queue) => {
      const scenario = scenarios[queue];
      if (!scenario) throw new Error(`no replay scenario for queue ${queue}: add one to this file`);
      await scenario();
      // The outages were real: the table proxy answered errors, and nothing is left behind.
      expect(await counts(queue)).toEqual({ visible: 0, in_flight: 0, dlq: 0 });
    },
    240_000,
  );
});
