// What readable stack traces cost at cold start. For a few functions, fresh Node processes import the
// handler bundle (no invocation: the import is where source maps are read) in each way of keeping traces
// readable, taking turns so machine noise hits all alike. Every variant is built here from the handler with
// the deployed options (infra/lib/bundling.ts), changing only what the variant names:
//   minified          whitespace, syntax and identifiers minified, no NODE_OPTIONS (no mapping)
//   minified+maps     the same with NODE_OPTIONS=--enable-source-maps and the external .map beside it
//   minified+inline   --enable-source-maps with the map inlined into the bundle
//   names             whitespace and syntax minified, identifiers kept (keepNames), no NODE_OPTIONS
//   names+maps        that bundle with its external map and --enable-source-maps
//   names+lines       syntax minified only: identifiers and line breaks kept, no NODE_OPTIONS (deployed)
// Runs inside `pnpm bench` (section 3b; BENCH_SOURCE_MAP_RUNS, default 5) and alone:
//   pnpm exec tsx test/bench/source-maps.ts [--runs N] [FunctionName ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEPLOYED_ESBUILD } from '@svc/infra/bundling';
import { build } from 'esbuild';
import { devTemplate, type TemplateFunction } from './template.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The smallest and one of the largest bundles: the cost grows with the bundle, so two bound it. */
export const SOURCE_MAP_FUNCTIONS = ['StatsGetCourse', 'DispatchSender'];
export const SOURCE_MAP_LEGEND =
  'minified: whitespace, syntax and identifiers minified, no NODE_OPTIONS; +maps: with --enable-source-maps and ' +
  'the external map; +inline: the map inlined; names: identifiers kept (keepNames, whitespace and syntax still ' +
  'minified); names+lines: only syntax minified (what deploys). "maps cost" = minified+maps − minified.';

interface Variant {
  name: string;
  file: string;
  nodeOptions: string;
  bytes: number;
}
export interface SourceMapRow {
  functionName: string;
  /** Variant name → median ms from process start to the end of the bundle's import. */
  medians: Record<string, number>;
  /** Variant name → bundle bytes (+ map bytes when one is read). */
  bytes: Record<string, number>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** Milliseconds from process start until `file` is imported, in a fresh process. */
function importTime(file: string, nodeOptions: string, env: Record<string, string>): number {
  const script = `await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now()));`;
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions, AWS_REGION: 'us-east-1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return Number(out);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    throw new Error(`importing ${file} failed: ${stderr.slice(-1500)}`);
  }
}

async function variantsOf(functionName: string, handler: string, dir: string): Promise<Variant[]> {
  const variant = async (name: string, options: Record<string, boolean>) => {
    const outfile = join(dir, `${functionName}-${name}`, 'index.mjs');
    await build({
      ...DEPLOYED_ESBUILD,
      minifySyntax: true,
      ...options,
      entryPoints: [join(REPO, handler)],
      outfile,
      absWorkingDir: REPO,
      logLevel: 'error',
    });
    return outfile;
  };
  const bundle = await variant('minified', { minify: true, keepNames: false });
  const map = `${bundle}.map`;
  const inline = join(dir, `${functionName}-inline.mjs`);
  const code = readFileSync(bundle, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  writeFileSync(
    inline,
    `${code}//# sourceMappingURL=data:application/json;base64,${readFileSync(map).toString('base64')}\n`,
  );
  const named = await variant('names', { minifyWhitespace: true, keepNames: true });
  const lined = await variant('lines', { keepNames: true });
  const size = (f: string) => statSync(f).size;
  return [
    { name: 'minified', file: bundle, nodeOptions: '', bytes: size(bundle) },
    {
      name: 'minified+maps',
      file: bundle,
      nodeOptions: '--enable-source-maps',
      bytes: size(bundle) + size(map),
    },
    { name: 'minified+inline', file: inline, nodeOptions: '--enable-source-maps', bytes: size(inline) },
    { name: 'names', file: named, nodeOptions: '', bytes: size(named) },
    {
      name: 'names+maps',
      file: named,
      nodeOptions: '--enable-source-maps',
      bytes: size(named) + size(`${named}.map`),
    },
    { name: 'names+lines', file: lined, nodeOptions: '', bytes: size(lined) },
  ];
}

export const VARIANTS = [
  'minified',
  'minified+maps',
  'minified+inline',
  'names',
  'names+maps',
  'names+lines',
];

export async function measureSourceMaps(
  functionNames: readonly string[],
  runs: number,
  /** The dev template's functions (test/bench/template.ts); synthesized here when not given. */
  template?: Record<string, TemplateFunction>,
): Promise<SourceMapRow[]> {
  const functions = template ?? (await devTemplate());
  const dir = mkdtempSync(join(tmpdir(), 'svc-source-maps-'));
  const rows: SourceMapRow[] = [];
  for (const functionName of functionNames) {
    const fn = functions[functionName];
    if (!fn) throw new Error(`${functionName}: not in the registry`);
    const variants = await variantsOf(functionName, fn.handler, dir);
    // The template's environment; values CloudFormation would resolve get a stand-in (nothing is called).
    const env: Record<string, string> = {
      ...Object.fromEntries(fn.resolved.map((k) => [k, 'http://127.0.0.1:9/bench'])),
      ...fn.environment,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    };
    delete env.NODE_OPTIONS;
    const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
    importTime(variants[0]?.file ?? '', '', env); // disk cache warm for everyone
    for (let i = 0; i < runs; i++)
      for (const v of i % 2 ? [...variants].reverse() : variants)
        samples[v.name]?.push(importTime(v.file, v.nodeOptions, env));
    rows.push({
      functionName,
      medians: Object.fromEntries(variants.map((v) => [v.name, median(samples[v.name] ?? [])])),
      bytes: Object.fromEntries(variants.map((v) => [v.name, v.bytes])),
    });
  }
  return rows;
}

export function sourceMapTable(rows: readonly SourceMapRow[]): string[] {
  const head = [
    'function',
    ...VARIANTS.map((v) => `${v} ms`),
    'maps cost ms',
    'KiB: bundle / +map / names+lines',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  for (const r of rows) {
    const m = r.medians;
    const kib = (n: number | undefined) => ((n ?? 0) / 1024).toFixed(0);
    lines.push(
      `| ${[
        r.functionName,
        ...VARIANTS.map((v) => (m[v] ?? Number.NaN).toFixed(1)),
        ((m['minified+maps'] ?? 0) - (m.minified ?? 0)).toFixed(1),
        `${kib(r.bytes.minified)} / ${kib(r.bytes['minified+maps'])} / ${kib(r.bytes['names+lines'])}`,
      ].join(' | ')} |`,
    );
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 10;
  const names = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
  const rows = await measureSourceMaps(names.length > 0 ? names : SOURCE_MAP_FUNCTIONS, runs);
  console.log(`Median of ${runs} fresh processes, ms from process start to the end of the bundle's import:`);
  for (const line of sourceMapTable(rows)) console.log(line);
}
