// One fresh "Lambda container" for the benchmark: a plain Node process (no tsx; Node strips the types)
// that imports one bundled handler, serves its first invocation (the cold start) and, when asked, a
// warm series. With `others`, it also imports those bundles (the function's twin, its stack-only
// variant) and the warm series takes turns between all of them, call by call: every handler is timed in
// the same process, at the same moments, against the same DynamoDB Local, so machine noise and JIT
// warm-up hit them alike. Plan in the JSON file BENCH_PLAN_FILE names; results go back over the IPC channel.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Plan {
  module: string;
  /** More bundles for the warm series, timed in turn with `module`. */
  others?: string[];
  /** Event templates (JSON text); `__UUID__` is replaced per invocation; used round-robin by all. */
  templates: string[];
  /** Warm-up rounds and timed rounds (a round calls each handler once). */
  warmup: number;
  count: number;
  /**
   * Stop the timed rounds after this long (ms), once 20 are in, and the warm-up after half of it, once 10 are
   * in: keeps the slow (scrypt) functions bounded.
   */
  maxMs?: number;
}

type Handler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode?: number; batchItemFailures?: unknown[] } | undefined>;

/** What one handler did in this process. */
interface Series {
  samples: number[];
  /** This process's own CPU per call (user + system, µs): the handler's work without DynamoDB Local's. */
  cpuSamples: number[];
  statuses: Record<string, number>;
  /** Its first answer, shortened: `pnpm bench --only` prints it so a twin can be checked against the real one. */
  first: string;
}

const startedAt = performance.now();
// In a file: hundreds of event templates are more than one environment variable may hold.
const plan = JSON.parse(readFileSync(process.env.BENCH_PLAN_FILE ?? '', 'utf8')) as Plan;
let n = 0;
const nextEvent = (): unknown => {
  const template = plan.templates[n % plan.templates.length] ?? '{}';
  n += 1;
  return JSON.parse(template.replaceAll('__UUID__', randomUUID()));
};
const context = (): Record<string, unknown> => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 30_000,
});

const call = async (handler: Handler, series: Series): Promise<void> => {
  const result = await handler(nextEvent(), context());
  if (!series.first) series.first = JSON.stringify(result ?? null).slice(0, 800);
  // HTTP handlers answer a status; SQS consumers a batch response; scheduled jobs whatever they return.
  const failures = result?.batchItemFailures?.length;
  const status = String(result?.statusCode ?? (failures === undefined ? 'done' : failures ? 'failed' : 'ok'));
  series.statuses[status] = (series.statuses[status] ?? 0) + 1;
};
const timed = async (handler: Handler, series: Series): Promise<void> => {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await call(handler, series);
  series.samples.push(performance.now() - t);
  const used = process.cpuUsage(cpu);
  series.cpuSamples.push(used.user + used.system);
};
const load = async (path: string) =>
  ((await import(pathToFileURL(path).href)) as { handler: Handler }).handler;
const newSeries = (): Series => ({ samples: [], cpuSamples: [], statuses: {}, first: '' });

const cpuAtStart = process.cpuUsage();
const handlers = [await load(plan.module)];
const importedAt = performance.now();
const importCpu = process.cpuUsage(cpuAtStart);
const series = [newSeries()];
await call(handlers[0] as Handler, series[0] as Series);
const firstDoneAt = performance.now();

for (const other of plan.others ?? []) {
  handlers.push(await load(other));
  series.push(newSeries());
}
// Round r starts with handler r mod k, so none is always first (or always right after another).
const round = async (r: number, each: (h: Handler, s: Series) => Promise<void>) => {
  for (let i = 0; i < handlers.length; i++) {
    const k = (r + i) % handlers.length;
    await each(handlers[k] as Handler, series[k] as Series);
  }
};
const warmFrom = performance.now();
for (let r = 0; r < plan.warmup; r++) {
  if (plan.maxMs !== undefined && r >= 10 && performance.now() - warmFrom > plan.maxMs / 2) break;
  await round(r, call);
}
const timedFrom = performance.now();
for (let r = 0; r < plan.count; r++) {
  if (plan.maxMs !== undefined && r >= 20 && performance.now() - timedFrom > plan.maxMs) break;
  await round(r, timed);
}

process.send?.(
  {
    cold: {
      // performance.now() counts from the process's time origin, so this includes Node's own boot.
      sinceProcessStart: firstDoneAt,
      bootToImport: startedAt,
      importMs: importedAt - startedAt,
      // The import's CPU (user + system): what section 7 splits by package (test/bench/gap.ts).
      importCpuMs: (importCpu.user + importCpu.system) / 1000,
      firstInvokeMs: firstDoneAt - importedAt,
    },
    series,
  },
  () => process.exit(0),
);
