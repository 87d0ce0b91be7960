// The observability section of `pnpm bench` (issue 19): what business metrics (EMF) and tracing cost per
// invocation, warm (µs) and cold (ms: the bundle's import and the first invocation), each on and off.
// Bundles are built with esbuild as the CDK app builds them (ESM, node24) from small entries that use the
// platform's real `metrics` port and `traced` wrapper; every measurement runs in a fresh `node` process.
// - metrics: one invocation records what a dispatch send records (3 metrics, 2 dimension sets) and flushes
//   (EMF to stdout, which the child sends to /dev/null), against an invocation that records nothing.
// - tracing: one invocation is `traced` around no I/O, then around one outbound fetch to a local server, with
//   the stage's tracing on (Lambda environment, X-Ray daemon stood in for by a UDP socket) and off.
// Alone: `pnpm exec tsx test/bench/observability.ts` (prints the section; budget ≤ 1 minute). Knobs:
// OBS_BENCH_WARM (invocations per warm run, default 2000), OBS_BENCH_WARM_CALLS (with a fetch, default 300),
// OBS_BENCH_COLD (fresh processes per mode, default 3).
// In `pnpm bench` the lead calls `observabilitySection()`.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEPLOYED_ESBUILD } from '@svc/infra/bundling';
import { build } from 'esbuild';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WARM = Number(process.env.OBS_BENCH_WARM ?? 2000);
const COLD = Number(process.env.OBS_BENCH_COLD ?? 3);
/** Invocations of the warm runs that make an outbound call (slower, so fewer). */
const WARM_CALLS = Number(process.env.OBS_BENCH_WARM_CALLS ?? 300);

const ENTRIES = {
  metrics: `import { metrics, flushMetrics } from '@svc/platform/metrics';
export async function run(record) {
  if (record) {
    metrics.count('SmsSent', { provider: 'provider1' });
    metrics.durationMs('ProviderLatency', 42, { provider: 'provider1', outcome: 'accepted' });
    metrics.count('SmsSendJobs', { outcome: 'sent' });
  }
  flushMetrics();
}`,
  tracing: `import { traced } from '@svc/platform/tracing';
export async function run(call, url) {
  return traced('BenchFunction', async () => (call ? (await fetch(url)).text() : 1));
}`,
} as const;

/** The child: import the bundle (cold), one invocation (first), then WARM more; prints JSON on stderr. */
const CHILD = `
const [bundle, record, url, warm] = process.argv.slice(1);
const t0 = performance.now();
const mod = await import(bundle);
const imported = performance.now();
await mod.run(record === '1', url);
const first = performance.now();
const n = Number(warm);
const w0 = performance.now();
for (let i = 0; i < n; i++) await mod.run(record === '1', url);
const w1 = performance.now();
process.stderr.write(JSON.stringify({ importMs: imported - t0, firstMs: first - imported, warmUs: n ? ((w1 - w0) * 1000) / n : 0 }));
`;

interface Sample {
  importMs: number;
  firstMs: number;
  warmUs: number;
}

function child(bundle: string, record: boolean, url: string, warm: number, env: NodeJS.ProcessEnv) {
  return new Promise<Sample>((resolve, reject) => {
    // stdout (the EMF lines) goes to /dev/null, as Lambda hands it to its log pipe without waiting.
    const proc = spawn(
      process.execPath,
      ['--input-type=module', '-e', CHILD, pathToFileURL(bundle).href, record ? '1' : '0', url, String(warm)],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(stderr.slice(stderr.lastIndexOf('{'))) as Sample);
      } catch (error) {
        reject(new Error(`bench child failed (${(error as Error).message}): ${stderr}`));
      }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function measure(
  bundle: string,
  record: boolean,
  url: string,
  env: NodeJS.ProcessEnv,
  warmRuns = WARM,
) {
  const cold: Sample[] = [];
  for (let i = 0; i < COLD; i++) cold.push(await child(bundle, record, url, 0, env));
  const warm = await child(bundle, record, url, warmRuns, env);
  return {
    importMs: median(cold.map((s) => s.importMs)),
    firstMs: median(cold.map((s) => s.firstMs)),
    warmUs: warm.warmUs,
  };
}

/** The markdown section (also printed when run alone). */
export async function observabilitySection(): Promise<string> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'obs-bench-'));
  const server = createServer((_req, res) => res.end('ok'));
  const daemon = createSocket('udp4');
  try {
    const bundles: Record<string, string> = {};
    const variants: [string, string, Record<string, string>][] = [
      ['metrics', ENTRIES.metrics, {}],
      ['tracing', ENTRIES.tracing, {}],
      // A stage with tracing off can leave the Tracer out of its bundles (tracing.ts, SVC_TRACER_BUNDLED).
      ['tracingOut', ENTRIES.tracing, { 'process.env.SVC_TRACER_BUNDLED': '"false"' }],
    ];
    for (const [name, source, define] of variants) {
      const entry = join(REPO, `test/bench/.obs-${name}-entry.mjs`);
      writeFileSync(entry, source);
      try {
        const out = join(dir, `${name}.mjs`);
        await build({
          entryPoints: [entry],
          outfile: out,
          // As deployed (the options ServiceFunction bundles with), plus this row's define.
          ...DEPLOYED_ESBUILD,
          define,
          logLevel: 'silent',
        });
        bundles[name] = out;
      } finally {
        rmSync(entry, { force: true });
      }
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    daemon.on('message', () => undefined);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      POWERTOOLS_SERVICE_NAME: 'bench',
      POWERTOOLS_METRICS_NAMESPACE: 'Svc/bench',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    };
    const lambda: NodeJS.ProcessEnv = {
      ...base,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: '/var/task',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
      _X_AMZN_TRACE_ID: 'Root=1-6752a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1',
    };
    const metricsBundle = bundles.metrics as string;
    const tracingBundle = bundles.tracing as string;
    const tracingOut = bundles.tracingOut as string;
    const rows = [
      ['metrics off (nothing recorded, empty flush)', await measure(metricsBundle, false, url, base)],
      [
        'metrics on (3 metrics, 2 dimension sets, one EMF flush)',
        await measure(metricsBundle, true, url, base),
      ],
      [
        'tracing off (no I/O)',
        await measure(tracingBundle, false, url, { ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' }),
      ],
      [
        'tracing off, Tracer left out of the bundle (no I/O)',
        await measure(tracingOut, false, url, { ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' }),
      ],
      [
        'tracing on (no I/O: the invocation subsegment, sent)',
        await measure(tracingBundle, false, url, { ...lambda, POWERTOOLS_TRACE_ENABLED: 'true' }),
      ],
      [
        'tracing off (one outbound fetch)',
        await measure(tracingBundle, true, url, { ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' }, WARM_CALLS),
      ],
      [
        'tracing on (one outbound fetch: invocation + HTTP subsegments)',
        await measure(tracingBundle, true, url, { ...lambda, POWERTOOLS_TRACE_ENABLED: 'true' }, WARM_CALLS),
      ],
    ] as const;
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
    const [mOff, mOn, tOff, tOut, tOn, hOff, hOn] = rows.map(([, r]) => r);
    const d = (on: Sample | undefined, off: Sample | undefined, key: keyof Sample) =>
      f((on?.[key] ?? Number.NaN) - (off?.[key] ?? Number.NaN));
    const lines = [
      '## Observability: metrics and tracing per invocation',
      '',
      `Bundles built like the CDK app's (esbuild, ESM, node24) from small entries over the platform's \`metrics\` and \`traced\`; each cold figure is the median of ${COLD} fresh \`node\` processes (import of the bundle, then the first invocation), each warm figure the mean of ${WARM} invocations in one process. Budget ≤ 1 minute; alone: \`pnpm exec tsx test/bench/observability.ts\`.`,
      '',
      '| mode | cold import (ms) | first invocation (ms) | warm per invocation (µs) |',
      '| --- | --- | --- | --- |',
      ...rows.map(([label, r]) => `| ${label} | ${f(r.importMs)} | ${f(r.firstMs)} | ${f(r.warmUs)} |`),
      '',
      `Differences on − off: metrics ${d(mOn, mOff, 'warmUs')} µs per warm invocation, ${d(mOn, mOff, 'firstMs')} ms on the first; tracing ${d(tOn, tOff, 'warmUs')} µs per warm invocation without I/O and ${d(hOn, hOff, 'warmUs')} µs with one outbound call, ${d(tOn, tOff, 'firstMs')} ms on the first invocation (the Tracer and aws-xray-sdk-core load then, not at import). Bundled but off, the Tracer's code still costs ${d(tOff, tOut, 'importMs')} ms of import (parsing) against a bundle without it. Figures from a loaded machine vary by tens of percent; compare rows of one run.`,
      '',
      `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
      '',
    ];
    return lines.join('\n');
  } finally {
    server.close();
    daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(await observabilitySection());
}
