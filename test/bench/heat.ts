// Partition heat (SPEC §8): realistic workloads through the real handlers (the local runtime's gateway and
// consumers) against DynamoDB Local behind the heat proxy (test/bench/heat-proxy.ts), which attributes every
// read and write to the partition key value it lands on, in the base table and in each index. For every
// workload, by what each key's traffic grows with (test/bench/heat-keys.ts): the hottest shared key per index
// with the workload rate at which it reaches 1,000 WCU or 3,000 RCU per second; each per-entity key with that
// entity's own bound; each per-container key with the warm containers that reach the limit.
// Part of `pnpm bench` (its section 8); alone: `pnpm exec tsx test/bench/heat.ts` (prints the section).
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '@svc/local/dynamodb';
import { startLocalRuntime } from '@svc/local/runtime';
import { TEST_LIMITS } from '../support/limits.js';
import { type Heat, heatOf, lowestShared } from './heat-keys.js';
import { type HeatProxy, startHeatProxy } from './heat-proxy.js';

export interface Workload {
  name: string;
  /** What it does, for the report. */
  definition: string;
  /** Set when the whole workload is one entity's own traffic (named here): it measures that entity's bound. */
  perEntity?: string;
  /**
   * The entities (rule names of test/bench/heat-keys.ts) each request acts as or on: their keys are bounded
   * per entity. Any other entity's key its requests land on (the same open visits every pal reads) is shared.
   */
  owns: readonly string[];
  /** Prepares what the workload needs (not measured); returns the measured part. */
  prepare(ctx: Ctx): Promise<() => Promise<number>>;
}

interface Ctx {
  url: string;
  /** Waits until the runtime's queues are drained and the provider callbacks landed. */
  settle(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
type Body = any;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http(
  url: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: Body = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

/** Runs `count` calls, `width` at a time; returns how many answered 5xx. */
async function pool(count: number, width: number, one: (i: number) => Promise<{ status: number }>) {
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        const reply = await one(i);
        if (reply.status >= 500) {
          errors++;
          if (process.env.HEAT_DEBUG) console.error(JSON.stringify(reply));
        }
      }
    }),
  );
  return errors;
}

const token = async (url: string, scope: string, sub = `heat-${randomUUID()}`) =>
  (await http(url, 'POST', '/__local/token', { body: { scope, sub } })).body.access_token as string;
const number = (i: number) => `+1415555${String(1000 + (i % 9000)).padStart(4, '0')}`;
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function register(url: string, n: number): Promise<{ id: string; token: string }[]> {
  const users: { id: string; token: string }[] = [];
  await pool(n, 4, async () => {
    const email = `heat-${randomUUID()}@example.com`;
    const res = await http(url, 'POST', '/api/auth/registration', {
      body: { email, password: 'correct horse battery', first_name: 'Heat', last_name: 'Model' },
    });
    const t = res.body?.data?.access_token as string;
    const me = await http(url, 'GET', '/api/user', { token: t });
    users.push({ id: me.body.data.id, token: t });
    return res;
  });
  return users;
}

const MESSAGES = 60;
const MEMBERS = 32;
/** Callers of the send pipeline: one per message, so no caller's own bucket is measured (a per-entity bound). */
const SENDERS = MESSAGES;

/** Entities a visit request, completion or cancel acts as or on: the member, the pal, the visit. */
const USER = 'one user (account, ledger)';
const VISIT_OWNS = [USER, 'one visit', "one member's visits"];
const TASK_OWNS = ['one task', "one user's tasks"];
const MESSAGE_OWNS = ['one message', 'one destination number', 'one API caller'];

export const WORKLOADS: Workload[] = [
  {
    name: 'dispatch: send pipeline',
    owns: MESSAGE_OWNS,
    definition: `${MESSAGES} POST /messages to ${MESSAGES} numbers by ${SENDERS} callers, each sent by DispatchSender with provider2 failing every other call (fail-over, breaker writes), and each provider's delivery callback; per POST`,
    async prepare({ url, settle }) {
      await http(url, 'POST', '/__local/providers/provider2', { body: { mode: 'flaky' } });
      const tokens = await Promise.all(Array.from({ length: SENDERS }, () => token(url, 'messages:send')));
      return async () => {
        const errors = await pool(MESSAGES, 4, (i) =>
          http(url, 'POST', '/messages', {
            token: tokens[i % tokens.length],
            body: { to_number: number(i), message: `heat ${i}` },
          }),
        );
        await settle();
        await http(url, 'POST', '/__local/providers/provider2', { body: { mode: 'ok' } });
        return errors;
      };
    },
  },
  {
    name: 'dispatch: list all messages',
    owns: [],
    definition: '60 GET /messages?limit=20 (every message, newest first), 20 of them following next_cursor',
    async prepare({ url }) {
      const t = await token(url, 'messages:read');
      return async () => {
        let errors = 0;
        for (let i = 0; i < 40; i++)
          if ((await http(url, 'GET', '/messages?limit=20', { token: t })).status >= 500) errors++;
        let cursor: string | null = null;
        for (let i = 0; i < 20; i++) {
          const res = await http(url, 'GET', `/messages?limit=20${cursor ? `&cursor=${cursor}` : ''}`, {
            token: t,
          });
          if (res.status >= 500) errors++;
          cursor = res.body?.next_cursor ?? null;
        }
        return errors;
      };
    },
  },
  {
    name: 'dispatch: list one number',
    owns: ['one destination number'],
    definition: '60 GET /messages?to_number=…&limit=20 over 60 numbers',
    async prepare({ url }) {
      const t = await token(url, 'messages:read');
      return () =>
        pool(60, 6, (i) =>
          http(url, 'GET', `/messages?to_number=${encodeURIComponent(number(i))}&limit=20`, { token: t }),
        );
    },
  },
  {
    name: 'visits: request',
    owns: VISIT_OWNS,
    definition: `${MEMBERS} POST /api/visit by ${MEMBERS} members (one each, dates 1–30 days ahead)`,
    async prepare({ url }) {
      const members = await register(url, MEMBERS);
      shared.members = members;
      return () =>
        pool(MEMBERS, 6, (i) =>
          http(url, 'POST', '/api/visit', {
            token: members[i % MEMBERS]?.token,
            body: {
              date: future(1 + (i % 30)),
              minutes: 10,
              tasks: [{ name: 'groceries', description: 'weekly shop' }],
            },
          }).then((r) => {
            if (r.status === 201) shared.visits.push({ id: r.body.data.id, member: i % MEMBERS });
            return r;
          }),
        );
    },
  },
  {
    name: 'visits: pals list requested',
    owns: [USER],
    definition:
      '40 GET /api/visit?status=requested&limit=20 by 16 pals (the first page, as every pal looking for work ' +
      'does), then 20 of them the next page (following next_cursor)',
    async prepare({ url }) {
      const pals = await register(url, 16);
      shared.pals = pals;
      return async () => {
        const cursors: (string | null)[] = [];
        const first = await pool(40, 4, async (i) => {
          const res = await http(url, 'GET', '/api/visit?status=requested&limit=20', {
            token: pals[i % pals.length]?.token,
          });
          cursors[i] = res.body?.next_cursor ?? null;
          return res;
        });
        const next = await pool(20, 4, (i) =>
          http(
            url,
            'GET',
            `/api/visit?status=requested&limit=20${cursors[i] ? `&cursor=${cursors[i]}` : ''}`,
            {
              token: pals[i % pals.length]?.token,
            },
          ),
        );
        return first + next;
      };
    },
  },
  {
    name: 'visits: complete',
    owns: VISIT_OWNS,
    definition: 'PUT /api/visit/{id}/complete of half the requested visits by 16 pals (one each)',
    async prepare({ url }) {
      const half = shared.visits.slice(0, Math.floor(shared.visits.length / 2));
      return () =>
        pool(half.length, 4, (i) =>
          http(url, 'PUT', `/api/visit/${half[i]?.id}/complete`, {
            token: shared.pals[i % shared.pals.length]?.token,
          }),
        );
    },
  },
  {
    name: 'visits: cancel',
    owns: VISIT_OWNS,
    definition: 'DELETE /api/visit/{id} of the other half by their members',
    async prepare({ url }) {
      const rest = shared.visits.slice(Math.floor(shared.visits.length / 2));
      return () =>
        pool(rest.length, 4, (i) =>
          http(url, 'DELETE', `/api/visit/${rest[i]?.id}`, {
            token: shared.members[rest[i]?.member ?? 0]?.token,
          }),
        );
    },
  },
  {
    name: 'visits: one member requests',
    owns: VISIT_OWNS,
    definition: '20 POST /api/visit by one member (1 minute each)',
    perEntity: "one member's own requests",
    async prepare({ url }) {
      const [member] = await register(url, 1);
      return () =>
        pool(20, 4, (i) =>
          http(url, 'POST', '/api/visit', {
            token: member?.token,
            body: { date: future(1 + i), minutes: 1, tasks: [{ name: 'walk' }] },
          }),
        );
    },
  },
  {
    name: 'tasks: webhooks by many users',
    owns: TASK_OWNS,
    definition: '120 POST /webhook `created` by 120 users',
    async prepare({ url }) {
      return () =>
        pool(120, 8, () =>
          http(url, 'POST', '/webhook', {
            body: {
              event: 'created',
              timestamp: new Date().toISOString(),
              metadata: { userId: randomUUID(), id: randomUUID(), content: 'a task', isCompleted: false },
            },
          }),
        );
    },
  },
  {
    name: 'tasks: one user bulk import',
    owns: TASK_OWNS,
    definition: '60 POST /webhook `created` by one user',
    perEntity: "one user's own webhooks",
    async prepare({ url }) {
      const userId = randomUUID();
      return () =>
        pool(60, 8, () =>
          http(url, 'POST', '/webhook', {
            body: {
              event: 'created',
              timestamp: new Date().toISOString(),
              metadata: { userId, id: randomUUID(), content: 'a task', isCompleted: false },
            },
          }),
        );
    },
  },
  {
    name: 'stats: session posts',
    owns: ['one user in one course'],
    definition: '80 POST /courses/{courseId} by 80 users over 4 courses',
    async prepare({ url }) {
      const courses = Array.from({ length: 4 }, () => randomUUID());
      return () =>
        pool(80, 8, (i) =>
          http(url, 'POST', `/courses/${courses[i % 4]}`, {
            headers: { 'x-user-id': randomUUID() },
            body: { sessionId: randomUUID(), totalModulesStudied: 3, averageScore: 70, timeStudied: 1000 },
          }),
        );
    },
  },
  {
    name: 'assistance: requests',
    owns: ['one assistance request'],
    definition:
      '40 POST /assistance (sales → Slack, pricing → email) by 40 callers, delivered by the channel consumers',
    async prepare({ url, settle }) {
      const tokens = await Promise.all(Array.from({ length: 40 }, () => token(url, 'request-assistance')));
      return async () => {
        const errors = await pool(40, 8, (i) =>
          http(url, 'POST', '/assistance', {
            token: tokens[i],
            body: { topic: i % 2 ? 'sales' : 'pricing', description: 'Help me choose a plan' },
          }),
        );
        await settle();
        return errors;
      };
    },
  },
];

const shared: {
  members: { id: string; token: string }[];
  pals: { id: string; token: string }[];
  visits: { id: string; member: number }[];
} = { members: [], pals: [], visits: [] };

export interface WorkloadResult {
  workload: Workload;
  requests: number;
  errors: number;
  heat: Heat;
  ms: number;
}

const fmt = (x: number) => (x === 0 ? '0' : x < 0.01 ? x.toExponential(1) : x.toFixed(2));
const rate = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '∞');
/** Key values are long; a UUID inside is shortened to its first 8 characters. */
const short = (pk: string) => {
  const s = pk
    .replace(/([0-9a-f]{8})-[0-9a-f-]{27}/g, '$1…')
    .replace(/(\d{4}-\d\d-\d\dT\d\d:\d\d):[\d.]+Z/g, '$1Z');
  return s.length > 64 ? `${s.slice(0, 44)}…${s.slice(-19)}` : s;
};

/** Runs every workload against a fresh local system; returns the report section as markdown lines. */
export async function partitionHeat(log: (line: string) => void = console.log): Promise<string[]> {
  const dynamo = await startDynamoDbLocal();
  let proxy: HeatProxy | undefined;
  const lines: string[] = [];
  try {
    proxy = await startHeatProxy(dynamo.endpoint);
    const heat = proxy;
    const runtime = await startLocalRuntime({
      port: 0,
      dynamodbEndpoint: heat.endpoint,
      schedules: false,
      logLevel: 'ERROR',
      log: () => undefined,
      callbackDelayMs: 20,
      // The abuse limits would refuse the workloads' many registrations and sends from one address and
      // caller; the test-stage numbers (far larger) keep the limiter's writes in the figures.
      stage: { limits: TEST_LIMITS },
    });
    const settle = async () => {
      // Queues drained and no DynamoDB traffic for a while: the consumers and callbacks are done.
      let quiet = 0;
      let last = -1;
      for (let i = 0; i < 600 && quiet < 6; i++) {
        await sleep(250);
        const total = Object.values(heat.calls).reduce((a, b) => a + b, 0);
        const queues = Object.values(await runtime.queues());
        const busy = queues.some((q) => q.visible + q.in_flight > 0);
        quiet = total === last && !busy ? quiet + 1 : 0;
        last = total;
      }
    };
    const results: WorkloadResult[] = [];
    try {
      const only = process.env.HEAT_ONLY;
      for (const workload of WORKLOADS.filter((w) => !only || w.name.startsWith(only))) {
        const run = await workload.prepare({ url: runtime.url, settle });
        await settle();
        heat.reset();
        const started = Date.now();
        const errors = await run();
        const requests = requestCount(workload);
        const ms = Date.now() - started;
        // HEAT_DUMP=1 prints every key value's capacity (what the classification in heat-keys.ts sorts).
        if (process.env.HEAT_DUMP)
          for (const [key, cell] of heat.cells)
            console.error(`  ${workload.name} | ${key} | wcu ${cell.wcu} rcu ${cell.rcu}`);
        const heatOfRun = heatOf(heat.cells, requests, ms / 1000, workload.owns);
        results.push({ workload, requests, errors, heat: heatOfRun, ms });
        log(
          `heat: ${workload.name}: ${requests} requests, ${errors} 5xx, hottest shared key projects ${rate(lowestShared(heatOfRun))}/s (${(ms / 1000).toFixed(1)} s)`,
        );
      }
    } finally {
      await runtime.stop();
    }
    lines.push(...report(results));
  } finally {
    await proxy?.stop();
    await dynamo.stop();
  }
  return lines;
}

/** The measured requests of each workload (what its per-request figures divide by). */
function requestCount(workload: Workload): number {
  const counts: Record<string, number> = {
    'dispatch: send pipeline': MESSAGES,
    'dispatch: list all messages': 60,
    'dispatch: list one number': 60,
    'visits: request': MEMBERS,
    'visits: pals list requested': 60,
    'visits: complete': Math.floor(shared.visits.length / 2),
    'visits: cancel': shared.visits.length - Math.floor(shared.visits.length / 2),
    'visits: one member requests': 20,
    'tasks: webhooks by many users': 120,
    'tasks: one user bulk import': 60,
    'stats: session posts': 80,
    'assistance: requests': 40,
  };
  return counts[workload.name] ?? 1;
}

export function report(results: WorkloadResult[]): string[] {
  const out: string[] = [];
  out.push('## 8. Partition heat (SPEC §8)');
  out.push('');
  out.push(
    'Each workload runs through the real handlers (local gateway, consumers in their workers) against DynamoDB ' +
      'Local behind a heat proxy (test/bench/heat-proxy.ts) that attributes every read and write to the ' +
      'partition key value it lands on, in the base table and in each index, with its capacity: writes by ' +
      'item size (1 KB units, doubled in transactions, refused conditional writes included), index writes ' +
      "derived from the item's old and new images (every index projects ALL), reads by returned size (4 KB " +
      'units, halved when eventually consistent). Every key value is then sorted by what its traffic grows ' +
      'with (the rules are in test/bench/heat-keys.ts; a key no rule names counts as shared):',
  );
  out.push('');
  out.push(
    '- **Shared keys** (lists, stage-wide counters) grow with the route rate. Per workload and index: the ' +
      'hottest one, its WCU and RCU per request of the workload, and the workload rate at which it reaches ' +
      '1,000 WCU or 3,000 RCU per second. Shards of one list or counter (key values ending in `shard_<n>` or ' +
      "`#s<n>`, shown as `…*`) count as their mean: writers spread uniformly over them, and a sample's busiest " +
      "shard is sampling noise. The pages of the lists every reader shares (pals' open visits, all " +
      "messages) are kept 1 s per container, so their keys' reads grow with warm containers and distinct pages, " +
      'not requests.',
  );
  out.push(
    "- **Per-entity keys** (one user's account, one visit, one message, one destination number) see only " +
      "their entity's own requests however many users call the route (SPEC §8 bounds them per entity). Per " +
      'workload, entity and index: the busiest key value, its cost per request of that entity (the ' +
      "workload's requests spread over the distinct values seen), and the entity's bound: how many of its " +
      'own requests per second reach the limit.',
  );
  out.push(
    "- **Per-container keys** (the providers' breaker items) are read and written on a timer by each warm " +
      'container, not per request. Their figure is the warm containers at which they reach the limit, counting ' +
      "all of the workload's traffic on them as one container's (a lower bound).",
  );
  out.push('');
  out.push(
    'Alone: `pnpm exec tsx test/bench/heat.ts` (`HEAT_ONLY=<name prefix>` for one workload, `HEAT_DUMP=1` lists every key value).',
  );
  out.push('');
  out.push('### Shared keys: the route rate each workload reaches the limit at');
  out.push('');
  out.push(
    '| workload | requests | 5xx | index | hottest shared key value | WCU/req | RCU/req | reaches the limit at (req/s) |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const name = `${r.workload.name}${r.workload.perEntity ? ' (one entity)' : ''}`;
    if (r.heat.shared.length === 0) {
      out.push(`| ${name} | ${r.requests} | ${r.errors} | — | none: every key is per entity | — | — | ∞ |`);
      continue;
    }
    r.heat.shared.forEach((s, i) => {
      const head = i === 0 ? [name, r.requests, r.errors] : ['', '', ''];
      out.push(
        `| ${[...head, s.index, `\`${short(s.pk)}\``, fmt(s.wcuPerRequest), fmt(s.rcuPerRequest), rate(s.projected)].join(' | ')} |`,
      );
    });
  }
  out.push('');
  out.push("### Per-entity keys: each entity's own bound");
  out.push('');
  out.push(
    "| workload | entity | index | busiest key value | values seen | WCU per entity's request | RCU per entity's request | entity's bound (its own req/s) |",
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results)
    r.heat.entities.forEach((e, i) => {
      out.push(
        `| ${[i === 0 ? r.workload.name : '', e.entity, e.index, `\`${short(e.pk)}\``, e.entities, fmt(e.wcuPerRequest), fmt(e.rcuPerRequest), rate(e.bound)].join(' | ')} |`,
      );
    });
  const timed = results.filter((r) => r.heat.containers.length > 0);
  if (timed.length > 0) {
    out.push('');
    out.push('### Per-container keys: the warm containers that reach the limit');
    out.push('');
    out.push(
      '| workload | key value | what | WCU/s | RCU/s | workload s | reaches the limit at (warm containers, at least) |',
    );
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of timed)
      for (const c of r.heat.containers)
        out.push(
          `| ${[r.workload.name, `\`${short(c.pk)}\``, c.what, fmt(c.wcuPerSecond), fmt(c.rcuPerSecond), (r.ms / 1000).toFixed(1), rate(c.containers)].join(' | ')} |`,
        );
  }
  out.push('');
  out.push('Workloads:');
  out.push('');
  for (const r of results) {
    const bounds = new Map<string, number>();
    for (const e of r.heat.entities) bounds.set(e.entity, Math.min(bounds.get(e.entity) ?? e.bound, e.bound));
    const entityText = [...bounds].map(([entity, bound]) => `${entity} ${rate(bound)}/s`).join(', ');
    out.push(
      `- **${r.workload.name}**: ${r.workload.definition}. Lowest shared projection ${rate(lowestShared(r.heat))} req/s` +
        (entityText ? `; per-entity bounds: ${entityText}` : '') +
        (r.workload.perEntity ? ` (the whole workload is ${r.workload.perEntity}).` : '.'),
    );
  }
  out.push('');
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines = await partitionHeat();
  console.log(lines.join('\n'));
  process.exit(0);
}
