// What readable stack traces cost at cold start. For a few functions, fresh Node processes import the
// handler bundle (no invocation: the import is where source maps are read) in each way of keeping traces
// readable, taking turns so machine noise hits all alike:
//   minified          the bundle as cdk.out has it, no NODE_OPTIONS (minified names, no mapping)
//   minified+maps     the same with NODE_OPTIONS=--enable-source-maps and the external .map beside it
//   minified+inline   --enable-source-maps with the map inlined into the bundle
//   names             whitespace and syntax minified, identifiers kept (keepNames), no NODE_OPTIONS
//   names+maps        that bundle with its external map and --enable-source-maps
//   names+lines       syntax minified only: identifiers and line breaks kept, no NODE_OPTIONS
// Runs inside `pnpm bench` (section "Source maps") and alone:
//   pnpm exec tsx test/bench/source-maps.ts [--runs N] [FunctionName ...]   (needs cdk.out: `pnpm synth`)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SOURCE_MAP_FUNCTIONS = [
  'StatsGetCourse',
  'VisitsGetUser',
  'AssistanceRequest',
  'DispatchSender',
];

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
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...env, PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions, AWS_REGION: 'us-east-1' },
    encoding: 'utf8',
  });
  return Number(out);
}

async function variantsOf(
  functionName: string,
  asset: string,
  handler: string,
  dir: string,
): Promise<Variant[]> {
  const bundle = join(asset, 'index.mjs');
  const map = `${bundle}.map`;
  const inline = join(dir, `${functionName}-inline.mjs`);
  const code = readFileSync(bundle, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  writeFileSync(
    inline,
    `${code}//# sourceMappingURL=data:application/json;base64,${readFileSync(map).toString('base64')}\n`,
  );
  const named = join(dir, `${functionName}-names`, 'index.mjs');
  // The options of infra/lib/service-function.ts, identifiers kept.
  await build({
    entryPoints: [join(REPO, handler)],
    outfile: named,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    banner: {
      js: "import { createRequire as __svcCreateRequire } from 'node:module'; const require = __svcCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  const lined = join(dir, `${functionName}-lines`, 'index.mjs');
  await build({
    entryPoints: [join(REPO, handler)],
    outfile: lined,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minifySyntax: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    banner: {
      js: "import { createRequire as __svcCreateRequire } from 'node:module'; const require = __svcCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
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
): Promise<SourceMapRow[]> {
  const template = JSON.parse(readFileSync(join(REPO, 'cdk.out', 'Svc-dev.template.json'), 'utf8')) as {
    Resources: Record<
      string,
      {
        Metadata?: Record<string, string>;
        Properties?: { Environment?: { Variables?: Record<string, unknown> } };
      }
    >;
  };
  const { services } = await import('../../infra/lib/services.js');
  const handlers = new Map(
    services.flatMap((s) =>
      [...s.routes, ...(s.consumers ?? []), ...(s.schedules ?? [])].map((f) => [f.functionName, f.handler]),
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), 'svc-source-maps-'));
  const rows: SourceMapRow[] = [];
  for (const functionName of functionNames) {
    const asset = template.Resources[functionName]?.Metadata?.['aws:asset:path'];
    const handler = handlers.get(functionName);
    if (!asset || !handler) throw new Error(`${functionName}: not in cdk.out or the registry`);
    const variants = await variantsOf(functionName, join(REPO, 'cdk.out', asset), handler, dir);
    // The template's environment; values CloudFormation would resolve get a stand-in (nothing is called).
    const variables = template.Resources[functionName]?.Properties?.Environment?.Variables ?? {};
    const env = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'http://127.0.0.1:9/bench']),
    );
    env.POWERTOOLS_LOG_LEVEL = 'SILENT';
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
