import { randomUUID } from 'node:crypto';
import { services } from '@svc/infra/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait.js';
import { type FaultHarness, startFaultHarness } from './fault-harness.js';
import { type DynamoFault, SES_THROTTLED, SQS_DOWN } from './fault-proxy.js';
import { type Call, type Reply, type RouteCall, routeCalls, type Seed } from './fault-routes.js';

/**
 * The fault matrix (SPEC §0): every fault the platform can meet is answered 409 / 429 / 503 with the
 * error envelope (and Retry-After where a retry helps), never 500, and nothing an accepted request
 * asked for is lost. Its own runtime (faults are global) whose DynamoDB is DynamoDB Local behind a
 * fault-injecting proxy, so the real handlers, SDK retries and ElectroDB meet the real error bodies.
 */

let harness: FaultHarness;
let seed: Seed;

const http = (call: Call) => harness.call(call);

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000) =>
  waitUntil(what, probe, timeoutMs);

const token = (scope: string, sub = `faults-${randomUUID()}`) => harness.runtime.issuer.issue({ scope, sub });

async function register(email = `fault-${randomUUID()}@example.com`, password = 'correct horse') {
  const res = await http({
    method: 'POST',
    path: '/api/auth/registration',
    body: { email, password, first_name: 'F', last_name: 'Ault' },
  });
  expect(res.status).toBe(201);
  return { email, password, token: res.body.data.access_token as string };
}

async function requestVisit(memberToken: string, minutes: number): Promise<string> {
  const res = await http({
    method: 'POST',
    path: '/api/visit',
    token: memberToken,
    body: { date: new Date().toISOString().slice(0, 10), minutes, tasks: [{ name: 'shopping' }] },
  });
  expect(res.status).toBe(201);
  return res.body.data.id;
}

interface SmsCall {
  provider: string;
  callback_url: string;
  status_code: number;
  message_id?: string;
}

const smsFor = (id: string) =>
  (harness.runtime.fakes.sms as SmsCall[]).filter((c) => c.callback_url?.includes(id));

async function seedData(): Promise<Seed> {
  const [assistance, sendToken, read, tasks] = await Promise.all([
    token('request-assistance'),
    token('messages:send'),
    token('messages:read'),
    token('tasks:read'),
  ]);
  const stats = { userId: randomUUID(), courseId: randomUUID(), sessionId: randomUUID() };
  const recorded = await http({
    method: 'POST',
    path: `/courses/${stats.courseId}`,
    headers: { 'x-user-id': stats.userId },
    body: { sessionId: stats.sessionId, totalModulesStudied: 4, averageScore: 80, timeStudied: 60_000 },
  });
  expect(recorded.status).toBe(201);

  const member = await register();
  const pal = await register();
  const leaving = await register();
  const secondSession = await http({
    method: 'POST',
    path: '/api/auth/session',
    body: { email: member.email, password: member.password },
  });
  expect(secondSession.status).toBe(200);
  const [open, toComplete, toRecord] = [
    await requestVisit(member.token, 10),
    await requestVisit(member.token, 20),
    await requestVisit(member.token, 30),
  ];

  const tasksUser = `faults-${randomUUID()}`;
  const created = await http({
    method: 'POST',
    path: '/webhook',
    body: {
      event: 'created',
      timestamp: new Date().toISOString(),
      metadata: { userId: tasksUser, id: randomUUID(), content: 'seed', isCompleted: false },
    },
  });
  expect(created.status).toBe(202);

  const asked = await http({
    method: 'POST',
    path: '/assistance',
    token: assistance,
    body: { topic: 'sales', description: 'seed request' },
  });
  expect(asked.status).toBe(202);

  const toNumber = '+14155550142';
  const message = await http({
    method: 'POST',
    path: '/messages',
    token: sendToken,
    body: { to_number: toNumber, message: 'seed message' },
  });
  expect(message.status).toBe(202);
  const accepted = await until('the seed message to reach a provider', async () =>
    smsFor(message.body.id).find((c) => c.status_code === 200),
  );
  const callback = new URL(accepted.callback_url);

  return {
    tokens: { assistance, send: sendToken, read, tasks },
    stats,
    visits: {
      email: member.email,
      password: member.password,
      member: member.token,
      pal: pal.token,
      leaving: leaving.token,
      loggingOut: secondSession.body.data.access_token as string,
      open,
      toComplete,
      toRecord,
    },
    tasksUser,
    assistanceId: asked.body.id,
    messageId: message.body.id,
    toNumber,
    callbackPath: `${callback.pathname}${callback.search}`,
    providerMessageId: accepted.message_id ?? '',
  };
}

function expectEnvelope(res: Reply, route: string) {
  expect(res.body?.error, `${route}: error envelope`).toMatchObject({
    status: res.status,
    message: expect.any(String),
    request_id: res.headers.get('x-request-id'),
  });
  expect(JSON.stringify(res.body), `${route}: no internals leak`).not.toMatch(/Exception|stack|at \//);
}

const allRoutes = services.flatMap((s) => s.routes.map((r) => r.functionName));

beforeAll(async () => {
  harness = await startFaultHarness(
    process.env.FAULT_LOGS ? { log: (fn, line) => process.stdout.write(`[${fn}] ${line}\n`) } : {},
  );
  seed = await seedData();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

/** Sends `call` while SQS is down: the route must answer 503 with the envelope and a Retry-After. */
async function refusedWhileSqsIsDown(call: Call, functionName: string): Promise<void> {
  harness.sqs.fail(SQS_DOWN);
  let refused: Reply;
  try {
    refused = await http(call);
  } finally {
    harness.sqs.clear();
  }
  expect(refused.status).toBe(503);
  expectEnvelope(refused, functionName);
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
}

describe('DynamoDB faults on every HTTP route', () => {
  it('has a valid request for every route in the route tables', () => {
    expect(Object.keys(routeCalls(seed, true)).sort()).toEqual([...allRoutes].sort());
  });

  let lastRound: (readonly [string, RouteCall, Reply])[] = [];

  async function underFault(fault: DynamoFault, withKeys: boolean) {
    const calls = routeCalls(seed, withKeys);
    const made = Object.entries(calls).map(([route, make]) => [route, make()] as [string, RouteCall]);
    harness.proxy.inject(fault);
    try {
      const replies = await Promise.all(
        made.map(async ([route, rc]) => [route, rc, await http(rc.call)] as const),
      );
      lastRound = replies;
      return replies;
    } finally {
      harness.proxy.clear();
    }
  }

  const describeWrong = (route: string, res: Reply) =>
    `${route} ${res.status} retry-after=${res.headers.get('retry-after')} ${JSON.stringify(res.body)}`;

  it.each([
    ['ProvisionedThroughputExceededException', true],
    ['ThrottlingException', false],
    ['RequestLimitExceeded', true],
  ] as const)(
    'answers %s with 503/429, the envelope and Retry-After (keys: %s)',
    async (fault, withKeys) => {
      const replies = await underFault(fault, withKeys);
      const wrong = replies
        .filter(
          ([, , res]) =>
            ![429, 503].includes(res.status) ||
            res.body?.error?.status !== res.status ||
            !/^\d+$/.test(res.headers.get('retry-after') ?? ''),
        )
        .map(([route, , res]) => describeWrong(route, res));
      expect(wrong.join('\n')).toBe('');
      for (const [route, , res] of replies) expectEnvelope(res, route);
      expect(replies.map(([route]) => route).sort()).toEqual([...allRoutes].sort());
      expect(Object.values(harness.proxy.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(
        allRoutes.length,
      );
    },
    60_000,
  );

  it('answers a transaction conflict with 409 (or the route read through), never 500', async () => {
    const replies = await underFault('TransactionConflict', true);
    const wrong = replies
      .filter(([, rc, res]) => ![rc.ok, 409].includes(res.status))
      .map(([route, , res]) => describeWrong(route, res));
    expect(wrong.join('\n')).toBe('');
    for (const [route, , res] of replies) if (res.status === 409) expectEnvelope(res, route);
  }, 60_000);

  it('left nothing half-done: balances, aggregates and visits are as seeded, and the same requests succeed once the table recovers', async () => {
    const me = await http({ method: 'GET', path: '/api/user', token: seed.visits.member });
    expect(me.body.data).toMatchObject({ minutes: 120, reserved_minutes: 60, available_minutes: 60 });
    const course = await http({
      method: 'GET',
      path: `/courses/${seed.stats.courseId}`,
      headers: { 'x-user-id': seed.stats.userId },
    });
    expect(course.body).toMatchObject({ totalModulesStudied: 4, timeStudied: 60_000 });
    const open = await http({
      method: 'GET',
      path: `/api/visit/${seed.visits.open}`,
      token: seed.visits.pal,
    });
    expect(open.body.data.status).toBe('requested');

    // The conflict round's requests again, Idempotency-Keys included: no key was left claimed.
    // A logout that succeeded in that round revoked its token: it is not repeated.
    const again = await Promise.all(
      lastRound
        .filter(([, rc]) => !rc.once)
        .map(async ([route, rc]) => [route, rc, await http(rc.call)] as const),
    );
    const wrong = again
      .filter(([, rc, res]) => res.status !== rc.ok)
      .map(([route, , res]) => describeWrong(route, res));
    expect(wrong.join('\n')).toBe('');

    const reply = (route: string) => again.find(([r]) => r === route)?.[2];
    const assistanceId = reply('AssistanceRequest')?.body.id as string;
    const messageId = reply('DispatchSendMessage')?.body.id as string;
    await until('the recovered assistance request to be delivered', async () => {
      const res = await http({
        method: 'GET',
        path: `/assistance/${assistanceId}`,
        token: seed.tokens.assistance,
      });
      return res.body?.status === 'delivered' ? res : undefined;
    });
    await until('the recovered message to reach a provider', async () => {
      const res = await http({ method: 'GET', path: `/messages/${messageId}`, token: seed.tokens.read });
      return ['sent', 'delivered'].includes(res.body?.status) ? res : undefined;
    });
    expect(acceptedFor(messageId)).toHaveLength(1);
  }, 60_000);
});

const acceptedFor = (id: string) => smsFor(id).filter((c) => c.status_code === 200);
const slackPostsFor = (id: string) =>
  harness.runtime.fakes.slack.filter((p) => JSON.stringify(p.blocks).includes(id));
async function emailsFor(id: string): Promise<unknown[]> {
  const outbox = (await (await fetch(`${harness.runtime.url}/__local/outbox`)).json()) as {
    email: { body: string }[];
  };
  return outbox.email.filter((m) => m.body.includes(id));
}
const assistance = (id: string) =>
  http({ method: 'GET', path: `/assistance/${id}`, token: seed.tokens.assistance });
const messageView = (id: string) => http({ method: 'GET', path: `/messages/${id}`, token: seed.tokens.read });

describe('SQS send failures on every route that enqueues', () => {
  it('POST /assistance: 503 with Retry-After, and the retry with the same key is delivered once', async () => {
    const call: Call = {
      method: 'POST',
      path: '/assistance',
      token: seed.tokens.assistance,
      headers: { 'idempotency-key': randomUUID() },
      body: { topic: 'sales', description: `queue outage ${randomUUID()}` },
    };
    await refusedWhileSqsIsDown(call, 'AssistanceRequest');
    expect(harness.sqs.state.failed).toBeGreaterThan(0);

    const accepted = await http(call);
    expect(accepted.status).toBe(202);
    const id: string = accepted.body.id;
    await until('the request to be delivered', async () => {
      const res = await assistance(id);
      return res.body?.status === 'delivered' ? res : undefined;
    });
    expect(slackPostsFor(id)).toHaveLength(1);
    // The request is delivered once even though its description was offered twice.
    const description = (call.body as { description: string }).description;
    expect(
      harness.runtime.fakes.slack.filter((p) => JSON.stringify(p.blocks).includes(description)),
    ).toHaveLength(1);
  }, 60_000);

  it('POST /messages: 503, the stored message is marked failed (never sent), and the retry is sent once', async () => {
    const toNumber = `+1415555${String(1000 + Math.floor(Math.random() * 8999))}`;
    const call: Call = {
      method: 'POST',
      path: '/messages',
      token: seed.tokens.send,
      headers: { 'idempotency-key': randomUUID() },
      body: { to_number: toNumber, message: 'queue outage' },
    };
    await refusedWhileSqsIsDown(call, 'DispatchSendMessage');
    const listed = await http({
      method: 'GET',
      path: `/messages?to_number=${encodeURIComponent(toNumber)}`,
      token: seed.tokens.read,
    });
    expect(listed.body.data.map((m: { status: string }) => m.status)).toEqual(['failed']);
    const failedId: string = listed.body.data[0].id;

    const accepted = await http(call);
    expect(accepted.status).toBe(202);
    const id: string = accepted.body.id;
    await until('the retried message to reach a provider', async () => {
      const res = await messageView(id);
      return ['sent', 'delivered'].includes(res.body?.status) ? res : undefined;
    });
    expect(acceptedFor(id)).toHaveLength(1);
    expect(smsFor(failedId)).toHaveLength(0);
  }, 60_000);

  it('the report planner: a run whose fan-out fails throws (the scheduler retries) and the next run still reports that window', async () => {
    const userId = `planner-${randomUUID()}`;
    const created = await http({
      method: 'POST',
      path: '/webhook',
      body: {
        event: 'created',
        timestamp: new Date().toISOString(),
        metadata: { userId, id: randomUUID(), content: 'report me', isCompleted: false },
      },
    });
    expect(created.status).toBe(202);
    harness.sqs.fail(SQS_DOWN);
    try {
      await expect(harness.runJob('TasksPlanReports')).rejects.toThrow();
    } finally {
      harness.sqs.clear();
    }
    await harness.runJob('TasksPlanReports');
    const reports = await until('a report for the user', async () => {
      const res = await http({
        method: 'GET',
        path: `/task-reports?userId=${userId}`,
        token: seed.tokens.tasks,
      });
      return res.body?.data?.length > 0 ? res : undefined;
    });
    expect(reports.body.data[0].counts.newIncomplete + reports.body.data[0].counts.oldIncomplete).toBe(1);
  }, 60_000);
});

describe('channel faults in the assistance consumers', () => {
  it('Slack 429 with Retry-After: the request stays queued, is retried later and posted once', async () => {
    harness.runtime.fakes.slackMode = 'throttled';
    try {
      const created = await http({
        method: 'POST',
        path: '/assistance',
        token: seed.tokens.assistance,
        body: { topic: 'sales', description: 'rate limited' },
      });
      expect(created.status).toBe(202);
      const id: string = created.body.id;
      const throttled = await until('a throttled attempt', async () => {
        const res = await assistance(id);
        return res.body?.attempts >= 1 ? res : undefined;
      });
      expect(throttled.body.status).toBe('queued');
      expect(slackPostsFor(id)).toHaveLength(0);
      harness.runtime.fakes.slackMode = 'ok';
      // Retried after the Retry-After; should the local queue dead-letter it instead (see the report),
      // the DLQ holds it and a redrive delivers it: either way it is not lost and is posted once.
      const settled = await until('the post after the rate limit, or the DLQ', async () => {
        const res = await assistance(id);
        if (res.body?.status === 'delivered') return { res, redriven: false };
        const counts = await harness.runtime.queues();
        return (counts['assistance-slack']?.dlq ?? 0) > 0 ? { res, redriven: true } : undefined;
      });
      if (settled.redriven) {
        expect(settled.res.body.status).toBe('queued');
        await harness.runtime.redrive('assistance-slack');
      }
      const done = await until('the post after the rate limit', async () => {
        const res = await assistance(id);
        return res.body?.status === 'delivered' ? res : undefined;
      });
      expect(done.body.channel).toBe('slack');
      expect(slackPostsFor(id)).toHaveLength(1);
    } finally {
      harness.runtime.fakes.slackMode = 'ok';
    }
  }, 60_000);

  it('SES throttling: the mail is left on the queue (not failed, not lost) and sent once when SES recovers', async () => {
    harness.ses.fail(SES_THROTTLED);
    let id = '';
    try {
      const created = await http({
        method: 'POST',
        path: '/assistance',
        token: seed.tokens.assistance,
        body: { topic: 'pricing', description: 'throttled mail' },
      });
      expect(created.status).toBe(202);
      id = created.body.id;
      const throttled = await until('a throttled attempt', async () => {
        const res = await assistance(id);
        return res.body?.attempts >= 1 && harness.ses.state.failed > 0 ? res : undefined;
      });
      expect(throttled.body.status).toBe('queued');
    } finally {
      harness.ses.clear();
    }
    const done = await until('the mail after throttling', async () => {
      const res = await assistance(id);
      return res.body?.status === 'delivered' ? res : undefined;
    });
    expect(done.body.channel).toBe('email');
    expect(await emailsFor(id)).toHaveLength(1);
  }, 60_000);
});

describe('provider timeouts and slow responses in the dispatch sender', () => {
  const sendMessage = async (text: string) => {
    const res = await http({
      method: 'POST',
      path: '/messages',
      token: seed.tokens.send,
      body: { to_number: seed.toNumber, message: text },
    });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const sentThrough = (id: string) =>
    until(`${id} to be sent`, async () => {
      const res = await messageView(id);
      return ['sent', 'delivered'].includes(res.body?.status) ? res.body : undefined;
    });

  it('a provider that never answers: the sender gives up on it and fails over, each message accepted once', async () => {
    harness.providers.set('provider1', { kind: 'silent' });
    try {
      const ids = await Promise.all([1, 2, 3, 4].map((n) => sendMessage(`silent provider ${n}`)));
      const views = await Promise.all(ids.map(sentThrough));
      for (const [i, view] of views.entries()) {
        const id = ids[i] ?? '';
        const trace = JSON.stringify({
          view,
          front: harness.providers.calls.filter((c) => c.body.includes(id)),
        });
        expect(['sent', 'delivered'], trace).toContain(view.status);
        const accepted = acceptedFor(id);
        expect(accepted, trace).toHaveLength(1);
        expect(accepted[0]?.provider, trace).toBe('provider2');
      }
    } finally {
      harness.providers.reset();
    }
  }, 60_000);

  it('a slow provider that answers within the timeout keeps the message: no failover, no second send', async () => {
    harness.providers.set('provider1', { kind: 'slow', delayMs: 150 });
    harness.providers.set('provider2', { kind: 'slow', delayMs: 150 });
    try {
      const id = await sendMessage('slow providers');
      const view = await sentThrough(id);
      const calls = harness.providers.calls.filter((c) => c.body.includes(id));
      expect(calls).toHaveLength(1);
      expect(calls[0]?.kind).toBe('slow');
      expect(view.status).not.toBe('failed');
      expect(acceptedFor(id)).toHaveLength(1);
    } finally {
      harness.providers.reset();
    }
  }, 60_000);

  it('both providers silent: retried with backoff, then failed into the DLQ, and a redrive sends it once', async () => {
    harness.providers.set('provider1', { kind: 'silent' });
    harness.providers.set('provider2', { kind: 'silent' });
    let id = '';
    try {
      id = await sendMessage('both silent');
      await until(
        'the message to fail for good',
        async () => {
          const res = await messageView(id);
          return res.body?.status === 'failed' ? res : undefined;
        },
        40_000,
      );
      await until('the DLQ to hold it', async () => {
        const counts = await harness.runtime.queues();
        return (counts['dispatch-send']?.dlq ?? 0) >= 1 ? counts : undefined;
      });
      expect(acceptedFor(id)).toHaveLength(0);
    } finally {
      harness.providers.reset();
    }
    expect(await harness.runtime.redrive('dispatch-send')).toBeGreaterThanOrEqual(1);
    // A redriven message the local queue dead-letters again before the sender sees it (reported) is
    // redriven again, a bounded number of times: what matters is that it is sent, and only once.
    for (let redrives = 1; ; redrives++) {
      const view = await until(`${id} to be sent or dead-lettered again`, async () => {
        const res = await messageView(id);
        if (['sent', 'delivered'].includes(res.body?.status)) return res.body;
        const counts = await harness.runtime.queues();
        return (counts['dispatch-send']?.dlq ?? 0) > 0 ? res.body : undefined;
      });
      if (['sent', 'delivered'].includes(view.status) || redrives >= 3) break;
      await harness.runtime.redrive('dispatch-send');
    }
    await sentThrough(id);
    expect(acceptedFor(id)).toHaveLength(1);
  }, 60_000);
});

describe('nothing lost', () => {
  it('ends with every queue drained: a redrive of whatever was dead-lettered leaves nothing anywhere', async () => {
    for (const [name, c] of Object.entries(await harness.runtime.queues()))
      if (c.dlq > 0) await harness.runtime.redrive(name);
    await until('the queues to drain', async () => {
      const now = await harness.runtime.queues();
      return Object.values(now).every((c) => c.visible === 0 && c.in_flight === 0 && c.dlq === 0)
        ? now
        : undefined;
    });
  }, 30_000);
});
