// `pnpm bench`: for every function its bundle size, warm latency, cold start and DynamoDB round trips, each
// beside a hand-written bare-SDK twin (test/bench/minimal/, the limit); then gateway load and the dispatch
// pipeline. Writes BENCHMARKS.md at the repo root.
// `pnpm bench --only A,B` measures just those functions (fewer knobs: BENCH_COUNT, BENCH_COLD_RUNS), prints
// both answers side by side to check a twin, and writes nothing. `--no-heat` skips section 8 (partition heat,
// test/bench/heat.ts, which also runs alone: `pnpm exec tsx test/bench/heat.ts`).
import { execFile, execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '@svc/local/dynamodb';
import { startLocalRuntime } from '@svc/local/runtime';
import { build } from 'esbuild';
import { TEST_LIMITS } from '../support/limits.js';
import { everyFunction } from './every-function.js';
import { CALL_REASONS, GAP_NOTES } from './findings.js';
import { partitionHeat } from './heat.js';
import { startCountingProxy } from './proxy.js';
import { reportRunBench } from './report-run.js';
import { measureSourceMaps, SOURCE_MAP_FUNCTIONS, sourceMapTable } from './source-maps.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const argv = process.argv.slice(2);
const args = new Set(argv);
const onlyAt = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
const onlyArg = onlyAt < 0 ? undefined : (argv[onlyAt]?.split('=')[1] ?? argv[onlyAt + 1] ?? '');
const only = onlyArg === undefined ? undefined : new Set(onlyArg.split(',').filter(Boolean));
const started = Date.now();
const loadBefore = loadavg();
const md: string[] = [];
const missing: string[] = [];
const note = (line: string) => {
  console.log(line);
  md.push(line);
};
const p = (sorted: number[], q: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) : 0;
const median = (xs: number[]) =>
  p(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const table = (head: string[], rows: (string | number)[][]) => {
  note(`| ${head.join(' | ')} |`);
  note(`|${head.map(() => ' --- ').join('|')}|`);
  for (const r of rows) note(`| ${r.join(' | ')} |`);
  note('');
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

// ---------- 1. bundle sizes ----------
const template = join(REPO, 'cdk.out', 'Svc-dev.template.json');
if (!(args.has('--no-synth') && existsSync(template))) {
  console.log('$ pnpm exec cdk synth -c stage=dev -q');
  execFileSync('pnpm', ['exec', 'cdk', 'synth', '-c', 'stage=dev', '-q'], { cwd: REPO, stdio: 'inherit' });
}
const resources = (
  JSON.parse(readFileSync(template, 'utf8')) as {
    Resources: Record<
      string,
      {
        Type: string;
        Metadata?: Record<string, string>;
        Properties?: { Environment?: { Variables?: Record<string, unknown> } };
      }
    >;
  }
).Resources;
/**
 * The literal variables the template gives a function (NODE_OPTIONS included); the ones CloudFormation
 * resolves (table, queue URLs, API URL) come from the local runtime, which points them at its services.
 * BENCH_NODE_OPTIONS=<flags> replaces NODE_OPTIONS, to measure what a flag costs (`BENCH_NODE_OPTIONS= `: none).
 */
const templateEnvironment = (name: string): Record<string, string> => {
  const variables = resources[name]?.Properties?.Environment?.Variables ?? {};
  const literal = Object.entries(variables).filter((e): e is [string, string] => typeof e[1] === 'string');
  const env = Object.fromEntries(literal);
  if (process.env.BENCH_NODE_OPTIONS !== undefined) env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
  return env;
};
const assets = new Map<string, string>();
for (const [id, r] of Object.entries(resources)) {
  const path = r.Metadata?.['aws:asset:path'];
  // Our functions only: CDK's own providers (the dev bucket's auto-delete) are not bundles of ours.
  const bundle = path ? join(REPO, 'cdk.out', path, 'index.mjs') : undefined;
  if (r.Type === 'AWS::Lambda::Function' && bundle && existsSync(bundle)) assets.set(id, bundle);
}
const names = [...assets.keys()].sort().filter((n) => !only || only.has(n));
if (only) for (const n of only) if (!assets.has(n)) throw new Error(`--only: no function ${n} in cdk.out`);

// ---------- the twins, bundled like the real ones ----------
const outDir = mkdtempSync(join(tmpdir(), 'svc-bench-'));
const source = (dir: string, name: string) =>
  fileURLToPath(new URL(`./${dir}/${kebab(name)}.ts`, import.meta.url));
/** The bare-SDK twin of each function that has one (test/bench/minimal/<kebab name>.ts). */
const twins = new Map(
  names
    .filter((n) => existsSync(source('minimal', n)))
    .map((n) => [n, join(outDir, 'minimal', n, 'index.mjs')]),
);
/**
 * The same route's real middleware stack around a no-op implementation (test/bench/stack-only/): splits
 * a route's gap to its twin into "our HTTP stack" and "the domain code and ElectroDB".
 */
const stackOnly = new Map(
  names
    .filter((n) => existsSync(source('stack-only', n)))
    .map((n) => [n, join(outDir, 'stack-only', n, 'index.mjs')]),
);
const entryPoints: Record<string, string> = {};
for (const n of twins.keys()) entryPoints[`minimal/${n}/index`] = source('minimal', n);
for (const n of stackOnly.keys()) entryPoints[`stack-only/${n}/index`] = source('stack-only', n);
await build({
  entryPoints,
  outdir: outDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  banner: {
    js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
  },
  logLevel: 'warning',
});

note('# Benchmarks');
note('');
note(
  `Generated by \`pnpm bench\` (test/bench/run.ts) on ${new Date().toISOString()}. Machine: ${cpus().length} cores ` +
    `(${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model}), ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}. ` +
    `Load average at start: ${loadBefore.map(f2).join(' / ')} (the machine is shared; other people's test runs may ` +
    'have been running and inflate every figure, twin and real alike).',
);
note('');
note(
  'Commands: `pnpm bench` (runs `pnpm exec cdk synth -c stage=dev -q` first), or `pnpm bench --no-synth` to reuse ' +
    'cdk.out; `pnpm bench --no-synth --only VisitsGetUser,StatsGetCourse` measures just those functions and writes nothing.',
);
note('');
note('## What is compared');
note('');
note(
  "Every function's **bundled** asset from cdk.out is imported by a fresh Node process (test/bench/child.ts) with " +
    'the environment the template gives that function (NODE_OPTIONS too, when it sets one), its resolved ' +
    'values from the local runtime (`runtime.environmentOf`: table, local endpoints, queue URLs, SSM parameter names, ' +
    'JWKS URL), and called directly, in-process, no gateway, with a request that does ' +
    "real work, built through the services' own handlers (test/bench/every-function.ts: tokens from the local issuer " +
    'and the visits service, fresh visits and accounts where a call consumes them). Beside it runs its **twin** ' +
    '(test/bench/minimal/<function>.ts): a hand-written handler that does the same work with the bare SDK — the same ' +
    'token check (jose), the same DynamoDB calls on the same items (the keys, index attributes and conditions the ' +
    'ElectroDB entities write), the same SQS/S3/SES/Slack/provider calls and the same answer — with no middleware, ' +
    'no validation library and no ElectroDB, bundled with the same esbuild options. Its DynamoDB calls are the ' +
    'minimum the access pattern needs. Both get the same events and the same environment; DispatchSendMessage (both) ' +
    'sends to a side queue nobody consumes, so the sender pipeline does not run beside the timed calls; the other ' +
    'consumers and the planner run with the whole local pipeline alive beside them.',
);
note('');

note(
  '## 1. Bundle size per function (cdk.out asset index.mjs, minified ESM, AWS SDK bundled; source maps excluded)',
);
note('');
const size = (file: string | undefined) => {
  if (!file) return ['–', '–'];
  const raw = readFileSync(file);
  return [(raw.length / 1024).toFixed(0), (gzipSync(raw).length / 1024).toFixed(0)];
};
table(
  ['function', 'raw KiB', 'gzip KiB', 'twin raw KiB', 'twin gzip KiB', 'stack-only raw KiB'],
  names.map((n) => [n, ...size(assets.get(n)), ...size(twins.get(n)), size(stackOnly.get(n))[0] ?? '–']),
);

// ---------- the local system ----------
const logFile = join(outDir, 'runtime.log');
let logLines = 0;
const runtime = await startLocalRuntime({
  port: 0,
  schedules: false,
  // The bench drives thousands of logins, sign-ups and sends from one address: test-stage limits
  // (the limiter still runs, so its writes are in the figures).
  stage: { limits: TEST_LIMITS },
  log: (fn, line) => {
    logLines += 1;
    if (logLines < 20_000) writeFileSync(logFile, `[${fn}] ${line}\n`, { flag: 'a' });
  },
});
console.log(`local runtime at ${runtime.url} (function log: ${logFile})`);
const sqs = new SQSClient({
  endpoint: runtime.endpoints.sqs,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});
// A side queue nobody consumes for DispatchSendMessage: with the real send queue, DispatchSender, the fake
// providers and the delivery callbacks would run beside the timed calls.
const sideQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-side' }))).QueueUrl ?? '';

/** What one handler did in a child process (test/bench/child.ts). */
interface Series {
  samples: number[];
  cpuSamples: number[];
  statuses: Record<string, number>;
  first: string;
}
interface ChildResult {
  cold: { sinceProcessStart: number; importMs: number; firstInvokeMs: number };
  /** The module's own series first, then one per bundle in `plan.others`. */
  series: Series[];
  wallMs: number;
}
/** What the local runtime gives `name` (it does not host the $default route, which needs none of it). */
const localEnvironmentOf = (name: string): Record<string, string> => {
  try {
    return runtime.environmentOf(name);
  } catch {
    return {};
  }
};
/** One fresh process that imports `module` (a bundle) with `name`'s environment and calls it. */
const runModule = (
  name: string,
  module: string,
  eventTemplates: string[],
  plan: { warmup: number; count: number; maxMs?: number; others?: string[] },
  extraEnv: Record<string, string> = {},
) =>
  new Promise<ChildResult>((resolve, reject) => {
    const planFile = join(outDir, `plan-${randomUUID()}.json`);
    writeFileSync(planFile, JSON.stringify({ module, templates: eventTemplates, ...plan }));
    const env = {
      ...templateEnvironment(name),
      ...localEnvironmentOf(name),
      ...(name === 'DispatchSendMessage' ? { QUEUE_URL_DISPATCH_SEND: sideQueue } : {}),
      ...extraEnv,
      BENCH_PLAN_FILE: planFile,
    };
    const t0 = performance.now();
    // BENCH_PROFILE_DIR=<dir>: a V8 CPU profile of every process (open in Chrome DevTools), to see where a gap goes.
    const profile = process.env.BENCH_PROFILE_DIR;
    const execArgv = profile
      ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${name}-${randomUUID()}.cpuprofile`]
      : [];
    const child = fork(CHILD, [], { execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let result: ChildResult | undefined;
    child.on('message', (m) => {
      result = { ...(m as Omit<ChildResult, 'wallMs'>), wallMs: performance.now() - t0 };
    });
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`${name} (${module}) exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
const ok = (r: Series | undefined) =>
  r
    ? Object.entries(r.statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')
    : '–';

try {
  const every = await everyFunction(runtime, REPO, only);
  for (const problem of every.problems) missing.push(problem);
  const WARMUP = Number(process.env.BENCH_WARMUP ?? 60);
  const COUNT = Number(process.env.BENCH_COUNT ?? 150);
  const COLD = Number(process.env.BENCH_COLD_RUNS ?? 10);
  const TRIPS = 10;
  const WARM_MS = Number(process.env.BENCH_WARM_MS ?? 3000);
  const proxy = await startCountingProxy(runtime.endpoints.dynamodb);

  interface Measured {
    warm: Series;
    colds: ChildResult[];
    /** DynamoDB calls per invocation through the counting proxy, by operation, and capacity units. */
    calls: number;
    ops: string;
    capacity: number;
  }
  interface Row {
    name: string;
    note: string;
    real: Measured;
    twin?: Measured;
    stack?: { warm: Series; colds: ChildResult[] };
  }
  const samplesOf = (r: Series) => [...r.samples].sort((x, y) => x - y);
  const p50 = (m: { warm: Series }) => p(samplesOf(m.warm), 0.5);
  const p99 = (m: { warm: Series }) => p(samplesOf(m.warm), 0.99);
  const initFirst = (c: ChildResult) => c.cold.importMs + c.cold.firstInvokeMs;
  const coldOf = (m: { colds: ChildResult[] }) => median(m.colds.map(initFirst));
  /** The function process's own CPU per warm call (median, ms): its work without DynamoDB Local's. */
  const cpuOf = (m: { warm: Series }) => median(m.warm.cpuSamples) / 1000;
  const rows: Row[] = [];
  const unprepared: string[] = [];
  for (const name of names) {
    const maker = every.makers[name];
    if (!maker) {
      unprepared.push(name);
      continue;
    }
    const kinds = [
      ['real', assets.get(name) ?? ''],
      ...(twins.has(name) ? [['twin', twins.get(name) ?? '']] : []),
    ] as const;
    // One process times the real handler, its twin and (for four routes) its stack-only variant in turn,
    // call by call. Each call takes a template: the first (cold) call, then a round per warm-up and timed round.
    const stackModule = stackOnly.get(name);
    const others = [twins.get(name), stackModule].filter((m): m is string => m !== undefined);
    // A request that consumes what it acts on needs a fresh account or visit per call: fewer rounds.
    const [warmup, count] = maker.consumes ? [Math.min(WARMUP, 20), Math.min(COUNT, 60)] : [WARMUP, COUNT];
    const warmRun = await runModule(
      name,
      assets.get(name) ?? '',
      await maker.make(1 + (1 + others.length) * (warmup + count)),
      { warmup, count, maxMs: WARM_MS, others },
    );
    const [realWarm, ...otherWarm] = warmRun.series as [Series, ...Series[]];
    const warm: Record<string, Series | undefined> = { real: realWarm };
    if (twins.has(name)) warm.twin = otherWarm.shift();
    const stackWarm = stackModule ? otherWarm.shift() : undefined;
    // Cold starts alternate real, twin (and stack-only), so drift in the machine's load hits all alike.
    const colds: Record<string, ChildResult[]> = { real: [], twin: [], stack: [] };
    for (let i = 0; i < COLD; i++) {
      for (const [kind, module] of kinds)
        colds[kind]?.push(await runModule(name, module, await maker.make(1), { warmup: 0, count: 0 }));
      if (stackModule)
        colds.stack?.push(await runModule(name, stackModule, await maker.make(1), { warmup: 0, count: 0 }));
    }
    const measured: Record<string, Measured> = {};
    for (const [kind, module] of kinds) {
      proxy.reset();
      await runModule(
        name,
        module,
        await maker.make(1 + TRIPS),
        { warmup: 0, count: TRIPS },
        { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint },
      );
      const per = (n: number) => n / (1 + TRIPS);
      measured[kind] = {
        warm: warm[kind] as Series,
        colds: colds[kind] ?? [],
        calls: per(Object.values(proxy.tally.calls).reduce((x, y) => x + y, 0)),
        ops: Object.entries(proxy.tally.calls)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([op, n]) => `${op} ${f2(per(n))}`)
          .join(', '),
        capacity: per(proxy.tally.capacity),
      };
    }
    rows.push({
      name,
      note: maker.note,
      real: measured.real as Measured,
      twin: measured.twin,
      stack: stackWarm ? { warm: stackWarm, colds: colds.stack ?? [] } : undefined,
    });
    const r = rows.at(-1) as Row;
    console.log(
      `${name}: p50 ${f2(p50(r.real))} / twin ${r.twin ? f2(p50(r.twin)) : '–'} ms, cold ${f1(coldOf(r.real))} / ` +
        `twin ${r.twin ? f1(coldOf(r.twin)) : '–'} ms, calls ${f2(r.real.calls)} / twin ${r.twin ? f2(r.twin.calls) : '–'}`,
    );
    if (only) {
      console.log(`  real statuses ${ok(r.real.warm)}; first answer ${r.real.warm.first}`);
      console.log(`  real DynamoDB ${r.real.ops}`);
      if (r.twin) {
        console.log(`  twin statuses ${ok(r.twin.warm)}; first answer ${r.twin.warm.first}`);
        console.log(`  twin DynamoDB ${r.twin.ops}`);
      } else console.log(`  no twin (test/bench/minimal/${kebab(name)}.ts)`);
    }
  }
  await proxy.stop();
  for (const n of unprepared) missing.push(`- ${n}: no request could be prepared, so it is not measured.`);
  for (const r of rows)
    if (!r.twin) missing.push(`- ${r.name}: no twin (test/bench/minimal/${kebab(r.name)}.ts), so no ratio.`);

  // ---------- 2–4: the per-function tables ----------
  const ratio = (a: number, b: number, limit: number) => {
    const x = a / b;
    return Number.isFinite(x) ? `${f2(x)}${x <= limit ? '' : ' ✗'}` : '–';
  };
  const withTwin = rows.filter((r) => r.twin) as (Row & { twin: Measured })[];
  note('## 2. Warm latency (in-process, full middleware stack, DynamoDB Local)');
  note('');
  note(
    'Per function one fresh process imports the real bundle and its twin (and, for four routes, the stack-only ' +
      'variant of section 7) and calls them in turn, call by call, starting each round with a different one: all ' +
      'are timed in the same process at the same moments against the same DynamoDB Local, so machine noise, GC and ' +
      `JIT warm-up hit them alike. ${WARMUP} warm-up rounds, then ${COUNT} timed rounds (fewer, at least 20, where ` +
      `they take more than ${WARM_MS / 1000} s: the scrypt routes; 20 and 60 where each call needs a fresh account or visit). CPU = the process's user+system time during the ` +
      'call (`process.cpuUsage`, median), which leaves out the time DynamoDB Local and the other stand-ins spend. ' +
      'Target: real p50 ≤ 1.1 × twin p50.',
  );
  note('');
  table(
    [
      'function',
      'p50 ms',
      'p99 ms',
      'twin p50',
      'twin p99',
      'p50 ratio (≤1.10)',
      'CPU ms',
      'twin CPU ms',
      'statuses real / twin',
      'request',
    ],
    rows.map((r) => [
      r.name,
      f2(p50(r.real)),
      f2(p99(r.real)),
      r.twin ? f2(p50(r.twin)) : '–',
      r.twin ? f2(p99(r.twin)) : '–',
      r.twin ? ratio(p50(r.real), p50(r.twin), 1.1) : '–',
      f2(cpuOf(r.real)),
      r.twin ? f2(cpuOf(r.twin)) : '–',
      `${ok(r.real.warm)} / ${ok(r.twin?.warm)}`,
      r.note,
    ]),
  );

  note('## 3. Cold start (fresh Node process: import the bundle, serve the first invocation)');
  note('');
  note(
    `Median of ${COLD} fresh processes each, real and twin alternating. "init+first" = import of index.mjs plus ` +
      'the first invocation (incl. SSM/JWKS fetches and the first connections); "since start" adds Node\'s own boot ' +
      '(performance.now() at the end of the first invocation). Target: init+first ≤ 1.3 × twin. Each process has ' +
      `the template's NODE_OPTIONS (${JSON.stringify(templateEnvironment(names[0] ?? '').NODE_OPTIONS ?? '')}), twins too.`,
  );
  note('');
  const med = (m: { colds: ChildResult[] } | undefined, pick: (c: ChildResult) => number) =>
    m ? f1(median(m.colds.map(pick))) : '–';
  table(
    [
      'function',
      'import ms',
      'first call ms',
      'init+first ms',
      'since start ms',
      'twin import',
      'twin first call',
      'twin init+first',
      'ratio (≤1.30)',
    ],
    rows.map((r) => [
      r.name,
      med(r.real, (c) => c.cold.importMs),
      med(r.real, (c) => c.cold.firstInvokeMs),
      f1(coldOf(r.real)),
      med(r.real, (c) => c.cold.sinceProcessStart),
      med(r.twin, (c) => c.cold.importMs),
      med(r.twin, (c) => c.cold.firstInvokeMs),
      r.twin ? f1(coldOf(r.twin)) : '–',
      r.twin ? ratio(coldOf(r.real), coldOf(r.twin), 1.3) : '–',
    ]),
  );

  // Skipped by --only (a twin check), unless BENCH_SOURCE_MAPS=1; alone: `pnpm exec tsx test/bench/source-maps.ts`.
  if (!only || process.env.BENCH_SOURCE_MAPS === '1') {
    note('## 3b. What readable stack traces cost at cold start (test/bench/source-maps.ts)');
    note('');
    note(
      `Median of ${COLD} fresh processes each, ms from process start to the end of the bundle's import (the only ` +
        'part source maps touch). minified: the cdk.out bundle without NODE_OPTIONS; +maps: with ' +
        '--enable-source-maps and the external map; +inline: the map inlined; names: identifiers kept ' +
        '(keepNames, whitespace and syntax still minified). "maps cost" = minified+maps − minified.',
    );
    note('');
    for (const line of sourceMapTable(await measureSourceMaps(SOURCE_MAP_FUNCTIONS, COLD))) note(line);
    note('');
  }

  note('## 4. DynamoDB round trips and consumed capacity per invocation');
  note('');
  note(
    'A counting proxy (test/bench/proxy.ts) sits between the process and DynamoDB Local ' +
      '(AWS_ENDPOINT_URL_DYNAMODB points at it); it counts requests by X-Amz-Target and adds ' +
      `ReturnConsumedCapacity=TOTAL to each, summing the ConsumedCapacity DynamoDB Local returns. 1 + ${TRIPS} ` +
      "invocations, averaged. The twin's calls are the minimum the access pattern needs. Target: no function above " +
      'its minimum.',
  );
  note('');
  table(
    [
      'function',
      'calls',
      'by operation',
      'capacity units',
      'minimum (twin) calls',
      'twin by operation',
      'twin capacity',
      'above minimum',
    ],
    rows.map((r) => [
      r.name,
      f2(r.real.calls),
      r.real.ops || 'none',
      f2(r.real.capacity),
      r.twin ? f2(r.twin.calls) : '–',
      r.twin ? r.twin.ops || 'none' : '–',
      r.twin ? f2(r.twin.capacity) : '–',
      r.twin ? (r.real.calls > r.twin.calls + 0.01 ? `+${f2(r.real.calls - r.twin.calls)} ✗` : 'no') : '–',
    ]),
  );

  let duplicates = 0;
  if (!only) {
    // ---------- 5. gateway load ----------
    const DURATION = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
    note('## 5. Throughput through the local gateway (autocannon, 10 connections, 127.0.0.1)');
    note('');
    note(
      `autocannon runs as its own process for ${DURATION} s per route; the gateway, the function worker threads, ` +
        'DynamoDB Local (Java) and the SQS/sender pipeline all share the same 2 cores, so these are figures for ' +
        'the local system, not for Lambda. POST /messages also feeds the sender and provider callbacks meanwhile.',
    );
    note('');
    const cannon = (path: string, method: string, headers: Record<string, string>, body?: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const argv = [AUTOCANNON, '-c', '10', '-d', String(DURATION), '-j', '-m', method];
        for (const [k, v] of Object.entries(headers)) argv.push('-H', `${k}=${v}`);
        if (body) argv.push('-b', body);
        argv.push(`${runtime.url}${path}`);
        execFile(process.execPath, argv, { maxBuffer: 64 * 2 ** 20 }, (error, stdout) =>
          error ? reject(error) : resolve(JSON.parse(stdout) as Record<string, unknown>),
        );
      });
    const load: (string | number)[][] = [];
    const json = { 'content-type': 'application/json' };
    for (const { label, path, method, headers, body } of every.load) {
      const r = (await cannon(path, method, headers, body)) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        non2xx: number;
        errors: number;
      };
      load.push([
        label,
        f1(r.requests.average),
        r.latency.p50,
        r.latency.p99,
        r.requests.total,
        r.non2xx,
        r.errors,
      ]);
      console.log(`load ${label} done`);
    }
    table(['route', 'req/s (mean)', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors'], load);

    // ---------- 6. dispatch pipeline ----------
    note('## 6. Dispatch pipeline: 1,000 messages with provider2 down');
    note('');
    const drainStart = Date.now();
    for (;;) {
      const q = (await runtime.queues())['dispatch-send'];
      if (!q || (q.visible === 0 && q.in_flight === 0) || Date.now() - drainStart > 120_000) break;
      await sleep(500);
    }
    await fetch(`${runtime.url}/__local/outbox`, { method: 'DELETE' });
    await fetch(`${runtime.url}/__local/providers/provider2`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ mode: 'down' }),
    });
    const jwt = (every.load.find((l) => l.path === '/messages')?.headers.authorization ?? '').slice(7);
    const TOTAL = Number(process.env.BENCH_MESSAGES ?? 1000);
    const tag = randomUUID().slice(0, 8);
    const ids: string[] = [];
    const t0 = Date.now();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < TOTAL) {
          const i = next++;
          const res = await fetch(`${runtime.url}/messages`, {
            method: 'POST',
            headers: { ...json, authorization: `Bearer ${jwt}` },
            body: JSON.stringify({ to_number: '+14155552671', message: `bench ${tag} ${i}` }),
          });
          const answer = (await res.json()) as { id?: string };
          if (res.status === 202 && answer.id) ids.push(answer.id);
          else refused += 1;
        }
      }),
    );
    const submittedMs = Date.now() - t0;
    const deadline = Date.now() + 240_000;
    let acceptedMs = Number.NaN;
    let accepts = new Map<string, number>();
    let provider2Calls = 0;
    while (Date.now() < deadline) {
      const outbox = (await (await fetch(`${runtime.url}/__local/outbox`)).json()) as {
        sms: { provider: string; message: unknown; status_code: number }[];
      };
      accepts = new Map();
      provider2Calls = 0;
      for (const call of outbox.sms) {
        if (typeof call.message !== 'string' || !call.message.startsWith(`bench ${tag} `)) continue;
        if (call.provider === 'provider2') provider2Calls += 1;
        if (call.status_code === 200) accepts.set(call.message, (accepts.get(call.message) ?? 0) + 1);
      }
      if (accepts.size >= ids.length) {
        acceptedMs = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    let pending = [...ids];
    let deliveredMs = Number.NaN;
    while (Date.now() < deadline && pending.length) {
      const still: string[] = [];
      for (let i = 0; i < pending.length; i += 20) {
        const batch = pending.slice(i, i + 20);
        const views = await Promise.all(
          batch.map(async (id) => {
            const res = await fetch(`${runtime.url}/messages/${id}`, {
              headers: { authorization: `Bearer ${jwt}` },
            });
            return { id, status: ((await res.json()) as { status?: string }).status };
          }),
        );
        for (const v of views) if (v.status !== 'delivered') still.push(v.id);
      }
      pending = still;
      if (!pending.length) deliveredMs = Date.now() - t0;
      else await sleep(500);
    }
    duplicates = [...accepts.values()].reduce((a, n) => a + (n - 1), 0);
    await fetch(`${runtime.url}/__local/providers/provider2`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ mode: 'ok' }),
    });
    note(
      'Submitted through the gateway (POST /messages, 20 concurrent clients), then the local SQS poller runs ' +
        'DispatchSender; the fake provider1 accepts and calls back DispatchDeliveryStatus after 300 ms. ' +
        '"Accepted" = every message has a 200 from a provider in GET /__local/outbox; "delivered" = every ' +
        'GET /messages/{id} says delivered (polled in batches of 20, so it overstates by up to one poll round).',
    );
    note('');
    table(
      [
        'messages',
        'refused at submit',
        'submit done s',
        'all accepted s',
        'all delivered s',
        'not delivered',
        'provider2 calls (down)',
        'duplicate accepts (target 0)',
      ],
      [
        [
          ids.length,
          refused,
          f1(submittedMs / 1000),
          f1(acceptedMs / 1000),
          f1(deliveredMs / 1000),
          pending.length,
          provider2Calls,
          `${duplicates}${duplicates === 0 ? '' : ' ✗'}`,
        ],
      ],
    );
  }

  // ---------- 7. where the gaps go ----------
  note('## 7. Targets missed, and where each gap goes');
  note('');
  const misses: string[] = [];
  for (const r of withTwin) {
    const wall = p50(r.real) - p50(r.twin);
    const cpu = cpuOf(r.real) - cpuOf(r.twin);
    if (p50(r.real) > 1.1 * p50(r.twin))
      misses.push(
        `- Warm ${r.name}: ${f2(p50(r.real) / p50(r.twin))} × twin (target 1.10): +${f2(wall)} ms p50, of which ` +
          `+${f2(cpu)} ms is CPU in the function's own process (middleware, validation, ElectroDB), the rest waiting ` +
          'longer on I/O.',
      );
    const importGap =
      median(r.real.colds.map((c) => c.cold.importMs)) - median(r.twin.colds.map((c) => c.cold.importMs));
    const firstGap =
      median(r.real.colds.map((c) => c.cold.firstInvokeMs)) -
      median(r.twin.colds.map((c) => c.cold.firstInvokeMs));
    if (coldOf(r.real) > 1.3 * coldOf(r.twin))
      misses.push(
        `- Cold ${r.name}: ${f2(coldOf(r.real) / coldOf(r.twin))} × twin (target 1.30): +${f1(importGap)} ms importing ` +
          `the larger bundle, +${f1(firstGap)} ms in the first call.`,
      );
    if (r.real.calls > r.twin.calls + 0.01)
      misses.push(
        `- DynamoDB ${r.name}: ${f2(r.real.calls)} calls against a minimum of ${f2(r.twin.calls)}` +
          `${CALL_REASONS[r.name] ? `: ${CALL_REASONS[r.name]}` : '.'}`,
      );
  }
  if (!only && duplicates > 0) misses.push(`- Dispatch duplicates: ${duplicates} (target 0).`);
  if (!misses.length) misses.push('- None.');
  for (const m of misses) note(m);
  note('');
  const split = rows.filter((r) => r.stack && r.twin) as (Row & {
    twin: Measured;
    stack: NonNullable<Row['stack']>;
  })[];
  if (split.length) {
    note(
      '"stack-only" is the same route behind the same middleware with an implementation that does nothing ' +
        '(test/bench/stack-only/): its time is what the shared HTTP stack costs on its own (request id, auth, JSON ' +
        'parsing, valibot validation incl. phone normalisation, the access log line, the error envelope; for visits ' +
        'also its account lookup), so `real − stack-only` is the domain operation through ElectroDB plus its I/O.',
    );
    note('');
    table(
      [
        'p50 ms (warm) / init+first ms (cold)',
        'twin',
        'stack-only',
        'real',
        'real − twin',
        'real − stack-only',
      ],
      split.flatMap((r) => [
        [
          `${r.name} warm`,
          f2(p50(r.twin)),
          f2(p50(r.stack)),
          f2(p50(r.real)),
          f2(p50(r.real) - p50(r.twin)),
          f2(p50(r.real) - p50(r.stack)),
        ],
        [
          `${r.name} cold`,
          f1(coldOf(r.twin)),
          f1(coldOf(r.stack)),
          f1(coldOf(r.real)),
          f1(coldOf(r.real) - coldOf(r.twin)),
          f1(coldOf(r.real) - coldOf(r.stack)),
        ],
      ]),
    );
  }
  for (const line of GAP_NOTES) note(line);
  note('');

  if (!only && !args.has('--no-heat')) {
    // Section 8: its own DynamoDB Local and runtime behind the heat proxy (test/bench/heat.ts).
    const heatLines = await partitionHeat((line) => console.log(line));
    for (const line of heatLines) note(line);
  }

  // Issue 17: report runs on synthetic populations (its own DynamoDB Local). BENCH_REPORT_RUN=0 skips it;
  // alone: `pnpm exec tsx test/bench/report-run.ts`.
  if (!only && process.env.BENCH_REPORT_RUN !== '0') {
    note('## Report runs');
    note('');
    await reportRunBench(note);
    note('');
  }

  note('## Not measured');
  note('');
  if (!missing.length) missing.push('- Nothing: every function has a request and a twin.');
  for (const m of missing) note(m);
  note('');
  note(
    `Run took ${f1((Date.now() - started) / 1000)} s; load average at end ${loadavg().map(f2).join(' / ')}. ` +
      'Function logs were written to a temp file, not to the console.',
  );
} finally {
  sqs.destroy();
  await runtime.stop();
}

if (!only) {
  const mdPath = join(REPO, 'BENCHMARKS.md');
  writeFileSync(mdPath, `${md.join('\n')}\n`);
  console.log(`wrote ${mdPath} (${statSync(mdPath).size} bytes)`);
}
process.exit(0);
