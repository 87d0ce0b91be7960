// `pnpm bench`: for every function its bundle size, warm latency, cold start and DynamoDB round trips, each
// beside a hand-written bare-SDK twin (test/bench/minimal/, the limit); then gateway load and the dispatch
// pipeline. Writes BENCHMARKS.md at the repo root.
// `pnpm bench --only A,B` measures just those functions (fewer knobs: BENCH_COUNT, BENCH_COLD_RUNS), prints
// both answers side by side to check a twin, and writes nothing. `--no-heat` skips section 8 (partition heat,
// test/bench/heat.ts, which also runs alone: `pnpm exec tsx test/bench/heat.ts`).
import { execFile, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DEPLOYED_ESBUILD } from '@svc/infra/bundling';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '@svc/local/dynamodb';
import { startLocalRuntime } from '@svc/local/runtime';
import { build, type Metafile } from 'esbuild';
import { TEST_LIMITS } from '../support/limits.js';
import { everyFunction } from './every-function.js';
import { CALL_REASONS, GAP_NOTES } from './findings.js';
import {
  extraByGroup,
  GAP_LEGEND,
  type GroupCost,
  gapComposition,
  serviceOf as gapServiceOf,
  groupTable,
  measureGroups,
  measureModels,
  readStoredGap,
} from './gap.js';
import { partitionHeat } from './heat.js';
import { startCountingProxy } from './proxy.js';
import { reportRunBench } from './report-run.js';
import { measureSourceMaps, SOURCE_MAP_FUNCTIONS, SOURCE_MAP_LEGEND, sourceMapTable } from './source-maps.js';
import type { TemplateFunction } from './template.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** Cold start per function before issue 20's changes (init+first ms, real and twin): the "before" columns. */
const BASELINE = fileURLToPath(new URL('./cold-baseline.json', import.meta.url));
interface ColdBaseline {
  measured?: string;
  functions: Record<string, { real: number; twin: number; pairs: number }>;
}
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

// ---------- time budget ----------
/**
 * Every section states its budget (seconds on a quiet 2-core machine) in its heading and reports what it took;
 * the run ends with the table of both. `pnpm bench` as a whole: 600 s.
 */
const BUDGET_S = {
  setup: 35,
  sizes: 2,
  warm: 60,
  cold: 140,
  gap: 15,
  sourceMaps: 18,
  trips: 25,
  load: 20,
  pipeline: 45,
  heat: 120,
  reportRun: 120,
  observability: 50,
} as const;
type Phase = keyof typeof BUDGET_S;
const tookMs: Partial<Record<Phase, number>> = {};
const timed = async <T>(phase: Phase, run: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await run();
  } finally {
    tookMs[phase] = (tookMs[phase] ?? 0) + performance.now() - t0;
    console.log(`[${phase}: ${f1((tookMs[phase] ?? 0) / 1000)} s of ${BUDGET_S[phase]} s]`);
  }
};
/** Starts the clock of a phase measured inline; call the result when it ends. */
const clock = (phase: Phase) => {
  const t0 = performance.now();
  return () => {
    tookMs[phase] = (tookMs[phase] ?? 0) + performance.now() - t0;
  };
};
const budgetOf = (...phases: Phase[]) =>
  `budget ${phases.reduce((a, ph) => a + BUDGET_S[ph], 0)} s, took ${f1(
    phases.reduce((a, ph) => a + (tookMs[ph] ?? 0), 0) / 1000,
  )} s`;

// ---------- setup: the template, the bundles, the local system, at once (nothing is timed yet) ----------
// The template comes from an in-process synth without esbuild (test/bench/template.ts, its own process), and
// the bench bundles every function, twin and stack-only variant in one esbuild build with the options every
// deployed function gets (infra/lib/bundling.ts; test/infra/bundling.test.ts proves the bytes equal the cdk.out
// asset's): a full `cdk synth` spends a minute bundling one function after another.
if (args.has('--no-synth')) console.log('--no-synth: no longer needed (the bench never runs cdk synth)');
const setupStarted = performance.now();
const TEMPLATE = fileURLToPath(new URL('./template.ts', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'svc-bench-'));
// ---------- the local system ----------
const logFile = join(outDir, 'runtime.log');
let logLines = 0;
const runtimeJob = startLocalRuntime({
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
// Accounts, visits, tokens and events for every function, made through the services while the rest is built.
const everyJob = runtimeJob.then((rt) => everyFunction(rt, REPO, only));
everyJob.catch(() => undefined);

const templateJob = new Promise<Record<string, TemplateFunction>>((resolve, reject) => {
  const child = fork(TEMPLATE, [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.on('exit', (code) =>
    code === 0
      ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, TemplateFunction>)
      : reject(new Error(`test/bench/template.ts exited ${code}`)),
  );
});
const functionsOf = await templateJob;
/**
 * The literal variables the template gives a function (NODE_OPTIONS included); the ones CloudFormation
 * resolves (table, queue URLs, API URL) come from the local runtime, which points them at its services.
 * BENCH_NODE_OPTIONS=<flags> replaces NODE_OPTIONS, to measure what a flag costs (`BENCH_NODE_OPTIONS= `: none).
 */
const templateEnvironment = (name: string): Record<string, string> => {
  const env = { ...(functionsOf[name]?.environment ?? {}) };
  if (process.env.BENCH_NODE_OPTIONS !== undefined) env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
  return env;
};
const names = Object.keys(functionsOf)
  .sort()
  .filter((n) => !only || only.has(n));
if (only)
  for (const n of only) if (!functionsOf[n]) throw new Error(`--only: no function ${n} in the registry`);

const source = (dir: string, name: string) =>
  fileURLToPath(new URL(`./${dir}/${kebab(name)}.ts`, import.meta.url));
const bundleIn = (dir: string, name: string) => join(outDir, dir, name, 'index.mjs');
const assets = new Map(names.map((n) => [n, bundleIn('real', n)]));
/** The bare-SDK twin of each function that has one (test/bench/minimal/<kebab name>.ts). */
const twins = new Map(
  names.filter((n) => existsSync(source('minimal', n))).map((n) => [n, bundleIn('minimal', n)]),
);
/**
 * The same route's real middleware stack around a no-op implementation (test/bench/stack-only/): splits
 * a route's gap to its twin into "our HTTP stack" and "the domain code and ElectroDB".
 */
const stackOnly = new Map(
  names.filter((n) => existsSync(source('stack-only', n))).map((n) => [n, bundleIn('stack-only', n)]),
);
const entryPoints: Record<string, string> = {};
for (const n of names) entryPoints[`real/${n}/index`] = join(REPO, functionsOf[n]?.handler ?? '');
for (const n of twins.keys()) entryPoints[`minimal/${n}/index`] = source('minimal', n);
for (const n of stackOnly.keys()) entryPoints[`stack-only/${n}/index`] = source('stack-only', n);
// Real functions and twins alike: "the twin bundled and run the same way".
const built = await build({
  ...DEPLOYED_ESBUILD,
  entryPoints,
  outdir: outDir,
  outExtension: { '.js': '.mjs' },
  absWorkingDir: REPO,
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(join(outDir, 'meta.json'), JSON.stringify(built.metafile));
/**
 * The functions as bundled before issue 20 (no aliases). BENCH_BEFORE=1 times them in the first BEFORE_RUNS
 * cold-start rounds beside the real one and the twin, so section 3's "before" columns come from the same
 * moments of the same run (about 70 s more). By default they are left out and test/bench/cold-baseline.json
 * fills the columns: the run of 2026-12-06 that timed them (written by BENCH_SAVE_BASELINE=1 with
 * BENCH_BEFORE=1), so `pnpm bench` keeps to its 600 s.
 */
const BEFORE = process.env.BENCH_BEFORE === '1';
const BEFORE_RUNS = Number(process.env.BENCH_BEFORE_RUNS ?? 3);
const before = new Map(BEFORE ? names.map((n) => [n, bundleIn('before', n)]) : []);
if (BEFORE)
  await build({
    ...DEPLOYED_ESBUILD,
    alias: {},
    entryPoints: Object.fromEntries(
      names.map((n) => [`before/${n}/index`, join(REPO, functionsOf[n]?.handler ?? '')]),
    ),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: REPO,
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
    'minimum the access pattern needs. Both get the same events and the same environment; DispatchSendMessage and ' +
    'TasksPlanReports (both) send to a side queue nobody consumes, so the sender pipeline and thousands of report ' +
    'jobs do not run beside the timed calls; the other consumers run with the whole local pipeline alive beside them.',
);
note('');

const sizesDone = clock('sizes');
note(
  `## 1. Bundle size per function (index.mjs as deployed, AWS SDK bundled; source maps excluded; budget ${BUDGET_S.sizes} s)`,
);
note('');
note(
  'What each bundle carries, from the esbuild metafile: "largest parts" are the KiB each package (or our own ' +
    'code, by workspace package) adds to the output, biggest first.',
);
note('');
const size = (file: string | undefined) => {
  if (!file) return ['–', '–'];
  const raw = readFileSync(file);
  return [(raw.length / 1024).toFixed(0), (gzipSync(raw).length / 1024).toFixed(0)];
};
/** Output bytes per package of one bundle: node_modules packages by name, our code by workspace folder. */
const partsOf = (meta: Metafile, dir: string, name: string) => {
  const output = meta.outputs[`${relative(REPO, outDir)}/${dir}/${name}/index.mjs`.replace(/^\/+/, '')];
  const parts = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg =
      input.match(/node_modules\/(?!.*node_modules\/)((?:@[^/]+\/)?[^/]+)/)?.[1] ??
      input.match(/^(packages\/[^/]+|functions|test\/bench)/)?.[1] ??
      input;
    parts.set(pkg, (parts.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...parts].sort((a, b) => b[1] - a[1]);
};
const metaOf = (() => {
  const out: Metafile = built.metafile ?? { inputs: {}, outputs: {} };
  // esbuild names outputs relative to absWorkingDir; outDir sits outside it, so match by suffix.
  const outputs: Metafile['outputs'] = {};
  for (const [file, o] of Object.entries(out.outputs))
    outputs[file.replace(/^.*?\/(real|minimal|stack-only)\//, `${relative(REPO, outDir)}/$1/`)] = o;
  return { ...out, outputs };
})();
table(
  [
    'function',
    'raw KiB',
    'gzip KiB',
    'twin raw KiB',
    'twin gzip KiB',
    'stack-only raw KiB',
    'largest parts (KiB)',
  ],
  names.map((n) => [
    n,
    ...size(assets.get(n)),
    ...size(twins.get(n)),
    size(stackOnly.get(n))[0] ?? '–',
    partsOf(metaOf, 'real', n)
      .slice(0, 6)
      .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)}`)
      .join(', '),
  ]),
);
sizesDone();
const runtime = await runtimeJob;
const every = await everyJob;
tookMs.setup = performance.now() - setupStarted;
console.log(`local runtime at ${runtime.url} (function log: ${logFile}); setup ${f1(tookMs.setup / 1000)} s`);
const sqs = new SQSClient({
  endpoint: runtime.endpoints.sqs,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});
// A side queue nobody consumes for DispatchSendMessage and TasksPlanReports: with the real queues, DispatchSender
// (the fake providers, the delivery callbacks) or TasksGenerateReport would run beside the timed calls, the latter
// through thousands of shard jobs (32 per planner call) while the next functions are measured: it put
// TasksWebhook's warm p50 at 89-103 ms against 23 ms alone.
const sideQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-side' }))).QueueUrl ?? '';
const SIDE_QUEUE_ENV: Record<string, string> = {
  DispatchSendMessage: 'QUEUE_URL_DISPATCH_SEND',
  TasksPlanReports: 'QUEUE_URL_TASK_REPORTS',
};

/** What one handler did in a child process (test/bench/child.ts). */
interface Series {
  samples: number[];
  cpuSamples: number[];
  statuses: Record<string, number>;
  first: string;
}
interface ChildResult {
  cold: { sinceProcessStart: number; importMs: number; importCpuMs: number; firstInvokeMs: number };
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
      ...(SIDE_QUEUE_ENV[name] ? { [SIDE_QUEUE_ENV[name]]: sideQueue } : {}),
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
  for (const problem of every.problems) missing.push(problem);
  const WARMUP = Number(process.env.BENCH_WARMUP ?? 25);
  const COUNT = Number(process.env.BENCH_COUNT ?? 60);
  /** Cold starts: at least COLD pairs (real, twin) per function, up to COLD_MAX while the spread straddles 1.30. */
  const COLD = Number(process.env.BENCH_COLD_RUNS ?? 4);
  const COLD_MAX = Math.max(COLD, Number(process.env.BENCH_COLD_MAX ?? 6));
  const TRIPS = 10;
  const WARM_MS = Number(process.env.BENCH_WARM_MS ?? 2000);

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
    /** BENCH_BEFORE=1: cold starts of the pre-issue-20 bundle. */
    before?: ChildResult[];
  }
  const samplesOf = (r: Series) => [...r.samples].sort((x, y) => x - y);
  const p50 = (m: { warm: Series }) => p(samplesOf(m.warm), 0.5);
  const p99 = (m: { warm: Series }) => p(samplesOf(m.warm), 0.99);
  /** 95 % confidence interval of the median (order statistics: ranks n/2 ± 0.98·√n). */
  const p50ci = (m: { warm: Series }) => {
    const s = samplesOf(m.warm);
    const h = 0.98 * Math.sqrt(s.length);
    const at = (i: number) => s[Math.max(0, Math.min(s.length - 1, Math.round(i)))] ?? Number.NaN;
    return `${f2(at(s.length / 2 - h))}–${f2(at(s.length / 2 + h))}`;
  };
  const initFirst = (c: ChildResult) => c.cold.importMs + c.cold.firstInvokeMs;
  const coldOf = (m: { colds: ChildResult[] }) => median(m.colds.map(initFirst));
  /** The real/twin ratio of each cold pair (run back to back), sorted. */
  const pairRatios = (real: ChildResult[], twin: ChildResult[]) =>
    real
      .slice(0, twin.length)
      .map((c, i) => initFirst(c) / initFirst(twin[i] as ChildResult))
      .sort((a, b) => a - b);
  /** Interquartile range of the pair ratios: how far one pair's answer may sit from the median's. */
  const iqr = (sorted: number[]) => [p(sorted, 0.25), p(sorted, 0.75)] as const;
  /** The function process's own CPU per warm call (median, ms): its work without DynamoDB Local's. */
  const cpuOf = (m: { warm: Series }) => median(m.warm.cpuSamples) / 1000;
  const unprepared: string[] = [];
  const prepared = names.filter((name) => {
    if (every.makers[name]) return true;
    unprepared.push(name);
    return false;
  });
  const makerOf = (name: string) => every.makers[name] as NonNullable<(typeof every.makers)[string]>;
  const modulesOf = (name: string) =>
    [['real', assets.get(name) ?? ''], ...(twins.has(name) ? [['twin', twins.get(name) ?? '']] : [])] as [
      string,
      string,
    ][];

  // ---- section 2: warm. One process per function times the real handler, its twin and (for four routes) its
  // stack-only variant in turn, call by call: the first (cold) call, then a round per warm-up and timed round.
  const warmOf = new Map<string, Record<string, Series | undefined>>();
  await timed('warm', async () => {
    for (const name of prepared) {
      const maker = makerOf(name);
      const stackModule = stackOnly.get(name);
      const others = [twins.get(name), stackModule].filter((m): m is string => m !== undefined);
      // A request that consumes what it acts on needs a fresh account or visit per call: fewer rounds.
      const [warmup, count] = maker.consumes ? [Math.min(WARMUP, 10), Math.min(COUNT, 40)] : [WARMUP, COUNT];
      const warmRun = await runModule(
        name,
        assets.get(name) ?? '',
        await maker.make(1 + (1 + others.length) * (warmup + count)),
        { warmup, count, maxMs: WARM_MS, others },
      );
      const [realWarm, ...otherWarm] = warmRun.series as [Series, ...Series[]];
      const warm: Record<string, Series | undefined> = { real: realWarm };
      if (twins.has(name)) warm.twin = otherWarm.shift();
      if (stackModule) warm.stack = otherWarm.shift();
      warmOf.set(name, warm);
      console.log(
        `warm ${name}: p50 ${f2(p50({ warm: realWarm }))} / twin ${warm.twin ? f2(p50({ warm: warm.twin })) : '–'} ms`,
      );
    }
  });

  // ---- section 3: cold. Pairs back to back (real, twin, then stack-only where there is one), so drift in the
  // machine's load hits both alike; COLD pairs, then more (up to COLD_MAX) while the pair ratios' interquartile
  // range still holds the 1.30 target, i.e. while more samples could change the verdict.
  const coldOf3 = new Map<string, Record<string, ChildResult[]>>();
  await timed('cold', async () => {
    for (const name of prepared) {
      const maker = makerOf(name);
      const stackModule = stackOnly.get(name);
      const colds: Record<string, ChildResult[]> = { real: [], twin: [], stack: [], before: [] };
      for (let i = 0; i < COLD_MAX; i++) {
        if (i >= COLD) {
          if (!colds.twin?.length) break;
          const [lo, hi] = iqr(pairRatios(colds.real ?? [], colds.twin));
          if (lo > 1.3 || hi <= 1.3) break;
        }
        // Alternate which goes first, so neither always follows the other's disk and CPU state.
        const kinds = [
          ...modulesOf(name),
          ...(before.has(name) && i < BEFORE_RUNS ? [['before', before.get(name) ?? '']] : []),
        ] as [string, string][];
        const order = i % 2 ? kinds.reverse() : kinds;
        for (const [kind, module] of order)
          colds[kind]?.push(await runModule(name, module, await maker.make(1), { warmup: 0, count: 0 }));
        if (stackModule && i < COLD)
          colds.stack?.push(await runModule(name, stackModule, await maker.make(1), { warmup: 0, count: 0 }));
      }
      coldOf3.set(name, colds);
      console.log(
        `cold ${name}: ${f1(coldOf({ colds: colds.real ?? [] }))} / twin ${f1(coldOf({ colds: colds.twin ?? [] }))} ms (${colds.real?.length} pairs)`,
      );
    }
  });

  // ---- what a cold gap is made of (section 7): each library group's import cost, measured once for all
  // functions (test/bench/gap.ts; BENCH_GAP=0 skips it; alone: `pnpm exec tsx test/bench/gap.ts`).
  // The prices are stored (test/bench/gap-costs.json, measured alone on a quiet machine); BENCH_GAP=1 measures
  // them again here, BENCH_GAP=0 leaves section 7's composition out.
  const GAP_RUNS = Number(process.env.BENCH_GAP_RUNS ?? 4);
  const storedGap = readStoredGap();
  const gapFresh = process.env.BENCH_GAP === '1' || !storedGap;
  const gapCosts: GroupCost[] =
    process.env.BENCH_GAP === '0'
      ? []
      : gapFresh
        ? await timed('gap', () => measureGroups(GAP_RUNS))
        : (storedGap?.groups ?? []);
  const modelCosts: Map<string, number> =
    process.env.BENCH_GAP === '0'
      ? new Map()
      : gapFresh
        ? await measureModels(GAP_RUNS)
        : new Map(Object.entries(storedGap?.models ?? {}));
  const gapSource = gapFresh
    ? `measured in this run, ${GAP_RUNS} pairs each`
    : `stored in test/bench/gap-costs.json (\`${storedGap?.command}\`, ${storedGap?.measured}); BENCH_GAP=1 measures them again in the run`;

  // ---- section 4: DynamoDB calls. Counting does not depend on timing, so three services at a time, each
  // process behind its own counting proxy; one service's functions (and a function and its twin) never run at
  // once, since they share accounts, limits and items.
  const tripsOf = new Map<string, Record<string, Pick<Measured, 'calls' | 'ops' | 'capacity'>>>();
  await timed('trips', async () => {
    const serviceOf = (name: string) => name.match(/^[A-Z][a-z]+/)?.[0] ?? name;
    const groups = new Map<string, { name: string; kind: string; module: string }[]>();
    for (const name of prepared)
      for (const [kind, module] of modulesOf(name))
        groups.set(serviceOf(name), [...(groups.get(serviceOf(name)) ?? []), { name, kind, module }]);
    const queue = [...groups.values()].sort((a, b) => b.length - a.length);
    const lanes = await Promise.all([0, 1, 2].map(() => startCountingProxy(runtime.endpoints.dynamodb)));
    await Promise.all(
      lanes.map(async (proxy) => {
        for (let group = queue.shift(); group; group = queue.shift())
          for (const job of group) {
            proxy.reset();
            try {
              await runModule(
                job.name,
                job.module,
                await makerOf(job.name).make(1 + TRIPS),
                { warmup: 0, count: TRIPS },
                { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint },
              );
            } catch (error) {
              // One failed count costs its row, not the whole run (the timed sections are already done).
              const why = (error as Error).message.slice(0, 300).replaceAll('\n', ' ');
              missing.push(`- ${job.name} (${job.kind}): DynamoDB calls not counted: ${why}`);
              continue;
            }
            const per = (n: number) => n / (1 + TRIPS);
            const entry = tripsOf.get(job.name) ?? {};
            entry[job.kind] = {
              calls: per(Object.values(proxy.tally.calls).reduce((x, y) => x + y, 0)),
              ops: Object.entries(proxy.tally.calls)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([op, n]) => `${op} ${f2(per(n))}`)
                .join(', '),
              capacity: per(proxy.tally.capacity),
            };
            tripsOf.set(job.name, entry);
          }
      }),
    );
    await Promise.all(lanes.map((proxy) => proxy.stop()));
  });

  const rows: Row[] = prepared.map((name) => {
    const warm = warmOf.get(name) ?? {};
    const colds = coldOf3.get(name) ?? {};
    const trips = tripsOf.get(name) ?? {};
    const measured = (kind: string): Measured | undefined =>
      warm[kind]
        ? {
            warm: warm[kind] as Series,
            colds: colds[kind] ?? [],
            ...(trips[kind] ?? { calls: Number.NaN, ops: '', capacity: Number.NaN }),
          }
        : undefined;
    return {
      name,
      note: makerOf(name).note,
      real: measured('real') as Measured,
      twin: measured('twin'),
      before: colds.before?.length ? colds.before : undefined,
      stack: warm.stack ? { warm: warm.stack, colds: colds.stack ?? [] } : undefined,
    };
  });
  if (only)
    for (const r of rows) {
      console.log(`${r.name}: real statuses ${ok(r.real.warm)}; first answer ${r.real.warm.first}`);
      console.log(`  real DynamoDB ${r.real.ops}`);
      if (r.twin) {
        console.log(`  twin statuses ${ok(r.twin.warm)}; first answer ${r.twin.warm.first}`);
        console.log(`  twin DynamoDB ${r.twin.ops}`);
      } else console.log(`  no twin (test/bench/minimal/${kebab(r.name)}.ts)`);
    }
  for (const n of unprepared) missing.push(`- ${n}: no request could be prepared, so it is not measured.`);
  for (const r of rows)
    if (!r.twin) missing.push(`- ${r.name}: no twin (test/bench/minimal/${kebab(r.name)}.ts), so no ratio.`);

  // ---------- 2–4: the per-function tables ----------
  const ratio = (a: number, b: number, limit: number) => {
    const x = a / b;
    return Number.isFinite(x) ? `${f2(x)}${x <= limit ? '' : ' ✗'}` : '–';
  };
  const withTwin = rows.filter((r) => r.twin) as (Row & { twin: Measured })[];
  note(`## 2. Warm latency (in-process, full middleware stack, DynamoDB Local; ${budgetOf('warm')})`);
  note('');
  note(
    'Per function one fresh process imports the real bundle and its twin (and, for four routes, the stack-only ' +
      'variant of section 7) and calls them in turn, call by call, starting each round with a different one: all ' +
      'are timed in the same process at the same moments against the same DynamoDB Local, so machine noise, GC and ' +
      `JIT warm-up hit them alike. ${WARMUP} warm-up rounds, then ${COUNT} timed rounds (fewer, at least 20, where ` +
      `they take more than ${WARM_MS / 1000} s: the scrypt routes; 10 and 40 where each call needs a fresh account or ` +
      'visit). "p50 95% CI" is the median\'s confidence interval from the order statistics. CPU = the process\'s ' +
      'user+system time during the call (`process.cpuUsage`, median), which leaves out the time DynamoDB Local and ' +
      'the other stand-ins spend. Target: real p50 ≤ 1.1 × twin p50.',
  );
  note('');
  table(
    [
      'function',
      'p50 ms',
      'p50 95% CI',
      'p99 ms',
      'twin p50',
      'twin p50 95% CI',
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
      p50ci(r.real),
      f2(p99(r.real)),
      r.twin ? f2(p50(r.twin)) : '–',
      r.twin ? p50ci(r.twin) : '–',
      r.twin ? f2(p99(r.twin)) : '–',
      r.twin ? ratio(p50(r.real), p50(r.twin), 1.1) : '–',
      f2(cpuOf(r.real)),
      r.twin ? f2(cpuOf(r.twin)) : '–',
      `${ok(r.real.warm)} / ${ok(r.twin?.warm)}`,
      r.note,
    ]),
  );

  const baseline = existsSync(BASELINE)
    ? (JSON.parse(readFileSync(BASELINE, 'utf8')) as ColdBaseline)
    : { functions: {} as ColdBaseline['functions'] };
  note(
    `## 3. Cold start (fresh Node process: import the bundle, serve the first invocation; ${budgetOf('cold')})`,
  );
  note('');
  note(
    `Median of ${COLD}–${COLD_MAX} fresh processes each: real and twin back to back in pairs (alternating which goes ` +
      `first), ${COLD} pairs, and more, up to ${COLD_MAX}, while the interquartile range of the pair ratios still ` +
      'holds 1.30 (where another pair could change the verdict). "init+first" = import of index.mjs plus ' +
      'the first invocation (incl. SSM/JWKS fetches and the first connections); "since start" adds Node\'s own boot ' +
      '(performance.now() at the end of the first invocation). Target: init+first ≤ 1.3 × twin. Each process has ' +
      `the template's NODE_OPTIONS (${JSON.stringify(templateEnvironment(names[0] ?? '').NODE_OPTIONS ?? '')}), twins too, ` +
      'and the twin is bundled with the same options. "before" is the bundle as built before issue 20 (no aliases): ' +
      (BEFORE
        ? `timed in this run, in the first ${BEFORE_RUNS} rounds beside the real one and the twin (median of those).`
        : `from test/bench/cold-baseline.json (${baseline.measured ?? 'not recorded'}), as a ratio to its own twin, ` +
          'since absolute figures move with the machine; `BENCH_BEFORE=1` times it in the same rounds instead.'),
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
      'pair ratios IQR',
      'pairs',
      'before: init+first / twin',
      'before ratio',
    ],
    rows.map((r) => {
      // This run's own pre-issue-20 bundle when BENCH_BEFORE=1, else the stored baseline.
      const before =
        r.before && r.twin
          ? { real: coldOf({ colds: r.before }), twin: coldOf(r.twin), pairs: r.before.length }
          : baseline.functions[r.name];
      const [lo, hi] = r.twin ? iqr(pairRatios(r.real.colds, r.twin.colds)) : [Number.NaN, Number.NaN];
      return [
        r.name,
        med(r.real, (c) => c.cold.importMs),
        med(r.real, (c) => c.cold.firstInvokeMs),
        f1(coldOf(r.real)),
        med(r.real, (c) => c.cold.sinceProcessStart),
        med(r.twin, (c) => c.cold.importMs),
        med(r.twin, (c) => c.cold.firstInvokeMs),
        r.twin ? f1(coldOf(r.twin)) : '–',
        r.twin ? ratio(coldOf(r.real), coldOf(r.twin), 1.3) : '–',
        r.twin ? `${f2(lo)}–${f2(hi)}` : '–',
        r.real.colds.length,
        before ? `${f1(before.real)} / ${f1(before.twin)}` : '–',
        before ? ratio(before.real, before.twin, 1.3) : '–',
      ];
    }),
  );
  if (process.env.BENCH_SAVE_BASELINE === '1') {
    const saved: ColdBaseline = {
      measured: `${new Date().toISOString()}, ${process.env.BENCH_BASELINE_NOTE ?? 'pnpm bench'}`,
      functions: Object.fromEntries(
        withTwin.map((r) => [
          r.name,
          // With BENCH_BEFORE=1 the pre-issue-20 bundle, else this run's.
          {
            real: coldOf({ colds: r.before ?? r.real.colds }),
            twin: coldOf(r.twin),
            pairs: r.real.colds.length,
          },
        ]),
      ),
    };
    writeFileSync(BASELINE, `${JSON.stringify(saved, null, 2)}\n`);
    console.log(`wrote ${BASELINE}`);
  }

  // Skipped by --only (a twin check), unless BENCH_SOURCE_MAPS=1; alone: `pnpm exec tsx test/bench/source-maps.ts`.
  if (!only || process.env.BENCH_SOURCE_MAPS === '1') {
    const SM_RUNS = Number(process.env.BENCH_SOURCE_MAP_RUNS ?? 4);
    const smRows = await timed('sourceMaps', () =>
      measureSourceMaps(SOURCE_MAP_FUNCTIONS, SM_RUNS, functionsOf),
    );
    note(
      `## 3b. What readable stack traces cost at cold start (test/bench/source-maps.ts; ${budgetOf('sourceMaps')})`,
    );
    note('');
    note(
      `Median of ${SM_RUNS} fresh processes each, ms from process start to the end of the bundle's import (the only ` +
        'part source maps touch). ' +
        SOURCE_MAP_LEGEND,
    );
    note('');
    for (const line of sourceMapTable(smRows)) note(line);
    note('');
  }

  note(`## 4. DynamoDB round trips and consumed capacity per invocation (${budgetOf('trips')})`);
  note('');
  note(
    'A counting proxy (test/bench/proxy.ts) sits between the process and DynamoDB Local ' +
      '(AWS_ENDPOINT_URL_DYNAMODB points at it); it counts requests by X-Amz-Target and adds ' +
      `ReturnConsumedCapacity=TOTAL to each, summing the ConsumedCapacity DynamoDB Local returns. 1 + ${TRIPS} ` +
      'invocations, averaged, three functions at a time (counts do not depend on timing). ' +
      "The twin's calls are the minimum the access pattern needs. Target: no function above " +
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
    const DURATION = Number(process.env.BENCH_LOAD_SECONDS ?? 6);
    const loadDone = clock('load');
    note(
      `## 5. Throughput through the local gateway (autocannon, 10 connections, 127.0.0.1; budget ${BUDGET_S.load} s)`,
    );
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
    loadDone();
    note(`Section 5 took ${f1((tookMs.load ?? 0) / 1000)} s.`);
    note('');

    // ---------- 6. dispatch pipeline ----------
    const pipelineDone = clock('pipeline');
    note(`## 6. Dispatch pipeline: 1,000 messages with provider2 down (budget ${BUDGET_S.pipeline} s)`);
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
    pipelineDone();
    note(`Section 6 took ${f1((tookMs.pipeline ?? 0) / 1000)} s.`);
    note('');
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
    if (coldOf(r.real) > 1.3 * coldOf(r.twin)) {
      let made = '';
      if (gapCosts.length) {
        const importCpu = (m: Measured) => median(m.colds.map((c) => c.cold.importCpuMs));
        const kib = Number(size(assets.get(r.name))[0]);
        const gap = gapComposition(
          extraByGroup(partsOf(metaOf, 'real', r.name), partsOf(metaOf, 'minimal', r.name)),
          gapCosts,
          importCpu(r.real) / kib,
        );
        const svc = gapServiceOf(r.name);
        const modelMs = svc ? (modelCosts.get(svc) ?? 0) : 0;
        const importCpuGap = importCpu(r.real) - importCpu(r.twin);
        const unpriced = importCpuGap - gap.totalMs - modelMs;
        made =
          ` Import CPU +${f1(importCpuGap)} ms over the twin's; what the bundle carries beyond the ` +
          `twin's, priced at section 7's rates: ${gap.text}` +
          (svc ? `; ElectroDB building ${svc}'s models at import ~${f1(modelMs)} ms` : '') +
          `; the card's libraries ~${f1(gap.cardMs + modelMs)} ms, our code ~${f1(gap.oursMs)}` +
          (unpriced > 0 ? `, not explained by the prices ~${f1(unpriced)} ms.` : '.');
      }
      misses.push(
        `- Cold ${r.name}: ${f2(coldOf(r.real) / coldOf(r.twin))} × twin (target 1.30): +${f1(importGap)} ms importing ` +
          `the larger bundle, +${f1(firstGap)} ms in the first call.${made}`,
      );
    }
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
  if (gapCosts.length) {
    note(
      `${GAP_LEGEND} Prices ${gapSource}; BENCH_GAP=0 leaves this out, alone: \`pnpm exec tsx test/bench/gap.ts [--save]\`.`,
    );
    note('');
    for (const line of groupTable(gapCosts, gapFresh ? GAP_RUNS : (storedGap?.runs ?? GAP_RUNS))) note(line);
    note('');
    note(
      `Building each service's ElectroDB models at import (CPU ms, its entities module and its \`<service>Db()\` beside ` +
        `the same ElectroDB and platform client without them): ${[...modelCosts].map(([s, ms]) => `${s} ${f1(ms)}`).join(', ')}. ` +
        '"Not explained by the prices" is the rest of the import CPU gap: what the pieces cost together beyond ' +
        'their sum alone (one larger file to read and compile) and top-level work the group bundles do not run ' +
        '(our route tables building their valibot schemas and middy chains, Powertools instances).',
    );
    note('');
  }
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
    const heatLines = await timed('heat', () => partitionHeat((line) => console.log(line)));
    for (const line of heatLines) note(line);
    note(`Partition heat took ${f1((tookMs.heat ?? 0) / 1000)} s (budget ${BUDGET_S.heat} s).`);
    note('');
  }

  // Issue 17: report runs on synthetic populations (its own DynamoDB Local). BENCH_REPORT_RUN=0 skips it;
  // alone: `pnpm exec tsx test/bench/report-run.ts`.
  if (!only && process.env.BENCH_REPORT_RUN !== '0') {
    note(`## Report runs (budget ${BUDGET_S.reportRun} s)`);
    note('');
    await timed('reportRun', () => reportRunBench(note));
    note('');
    note(`Report runs took ${f1((tookMs.reportRun ?? 0) / 1000)} s.`);
    note('');
  }
  // Issue 17's own sizes (100,000 users, a user with 100,000 open tasks) take minutes more than this run's
  // budget, so they are a stored run, regenerated with the command its heading gives.
  const largeReportRuns = fileURLToPath(new URL('./report-run-large.md', import.meta.url));
  if (!only && existsSync(largeReportRuns)) {
    note('## Report runs at 100,000 users and a 100,000-task user (stored run, not timed by this one)');
    note('');
    note(readFileSync(largeReportRuns, 'utf8').trim());
    note('');
  }

  // Issue 19's section, when its file is there (test/bench/observability.ts exports observabilitySection()).
  // BENCH_OBSERVABILITY=0 skips it.
  const observability = fileURLToPath(new URL('./observability.ts', import.meta.url));
  if (!only && process.env.BENCH_OBSERVABILITY !== '0' && existsSync(observability)) {
    const module = (await import(pathToFileURL(observability).href)) as {
      observabilitySection?: () => Promise<string>;
    };
    if (module.observabilitySection) {
      const section = await timed('observability', () =>
        (module.observabilitySection as () => Promise<string>)(),
      );
      for (const line of section.split('\n')) note(line);
      note('');
      note(
        `Observability took ${f1((tookMs.observability ?? 0) / 1000)} s (budget ${BUDGET_S.observability} s).`,
      );
      note('');
    }
  }

  note('## Not measured');
  note('');
  if (!missing.length) missing.push('- Nothing: every function has a request and a twin.');
  for (const m of missing) note(m);
  note('');
  note('## Wall time');
  note('');
  note(
    'Each section against its budget (seconds, on a quiet machine; the whole of `pnpm bench` has 600 s). ' +
      'Setup (the template, one esbuild build of every bundle, the local system and the requests, at once) is ' +
      'not timed work, so it overlaps.',
  );
  note('');
  const wallMs = Date.now() - started;
  table(
    ['section', 'budget s', 'took s'],
    [
      ...(Object.keys(BUDGET_S) as Phase[])
        .filter((ph) => tookMs[ph] !== undefined)
        .map((ph) => [ph, BUDGET_S[ph], f1((tookMs[ph] ?? 0) / 1000)]),
      ['**total (wall)**', 600, `${f1(wallMs / 1000)}${wallMs > 600_000 ? ' ✗' : ''}`],
    ],
  );
  note(
    `Run took ${f1(wallMs / 1000)} s (\`pnpm bench${argv.length ? ` ${argv.join(' ')}` : ''}\`); load average at end ` +
      `${loadavg().map(f2).join(' / ')}. Function logs were written to a temp file, not to the console.`,
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
