// One fresh "Lambda container" for the benchmark: a plain Node process (no tsx; Node strips the types)
// that imports one bundled handler, serves its first invocation (the cold start) and, when asked, a
// warm series. Plan in BENCH_PLAN (JSON); results go back over the IPC channel.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

interface Plan {
  module: string;
  /** Event templates (JSON text); `__UUID__` is replaced per invocation; used round-robin. */
  templates: string[];
  warmup: number;
  count: number;
  /** Stop the timed calls after this long (ms), once 20 are in: keeps the slow (scrypt) functions bounded. */
  maxMs?: number;
}

type Handler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode?: number; batchItemFailures?: unknown[] } | undefined>;

const startedAt = performance.now();
const plan = JSON.parse(process.env.BENCH_PLAN ?? '{}') as Plan;
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

const statuses: Record<string, number> = {};
/** The first answer, shortened: `pnpm bench --only` prints it so a twin can be checked against the real one. */
let first = '';
const call = async (handler: Handler): Promise<void> => {
  const result = await handler(nextEvent(), context());
  if (n === 1) first = JSON.stringify(result ?? null).slice(0, 800);
  // HTTP handlers answer a status; SQS consumers a batch response; scheduled jobs whatever they return.
  const failures = result?.batchItemFailures?.length;
  const status = String(result?.statusCode ?? (failures === undefined ? 'done' : failures ? 'failed' : 'ok'));
  statuses[status] = (statuses[status] ?? 0) + 1;
};

const module = (await import(pathToFileURL(plan.module).href)) as { handler: Handler };
const importedAt = performance.now();
await call(module.handler);
const firstDoneAt = performance.now();

const samples: number[] = [];
// This process's own CPU per call (user + system, µs): the handler's work without DynamoDB Local's.
const cpuSamples: number[] = [];
for (let i = 0; i < plan.warmup; i++) await call(module.handler);
const timedFrom = performance.now();
for (let i = 0; i < plan.count; i++) {
  if (plan.maxMs !== undefined && i >= 20 && performance.now() - timedFrom > plan.maxMs) break;
  const cpu = process.cpuUsage();
  const t = performance.now();
  await call(module.handler);
  samples.push(performance.now() - t);
  const used = process.cpuUsage(cpu);
  cpuSamples.push(used.user + used.system);
}

process.send?.(
  {
    cold: {
      // performance.now() counts from the process's time origin, so this includes Node's own boot.
      sinceProcessStart: firstDoneAt,
      bootToImport: startedAt,
      importMs: importedAt - startedAt,
      firstInvokeMs: firstDoneAt - importedAt,
    },
    samples,
    cpuSamples,
    statuses,
    first,
  },
  () => process.exit(0),
);
