// What a cold start's gap to its twin is made of (BENCHMARKS.md section 7, issue 20's "what remains and why").
// Two halves:
//   1. bytes: from the esbuild metafile, the output bytes per package that the real bundle carries and its
//      twin does not (real − twin per package, grouped: ElectroDB, middy, Powertools, the X-Ray tracer,
//      valibot, jose, libphonenumber-js, the rest of the AWS SDK, our own code, other);
//   2. milliseconds: each library group bundled alone with the deployed options (imported the way our code
//      imports it) on top of the DynamoDB document client every twin has, and imported by fresh Node processes in
//      pairs with the client alone: what the group adds to a twin-like import (CPU ms); and, per service, what
//      building its ElectroDB models at import adds (`measureModels`).
// A function's line then reads "+N KiB: ElectroDB 388 KiB (~X ms at its measured rate), …, our code K KiB",
// the models, and what no price explains: the card's libraries (fixed by the design card) versus our code.
// Prices are measured alone on a quiet machine and stored, since timing them inside the bench (beside
// DynamoDB Local and the runtime) moved them 2–3× between runs:
//   pnpm exec tsx test/bench/gap.ts [--runs N] [--save]   (writes test/bench/gap-costs.json with --save)
// `pnpm bench` reads the stored prices; BENCH_GAP=1 measures them again inside the run (budget BUDGET_S.gap).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEPLOYED_ESBUILD } from '@svc/infra/bundling';
import { build } from 'esbuild';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A library group: which packages of a metafile belong to it, and how our code imports it (for timing). */
interface Group {
  name: string;
  /** Package names (as section 1 names them) that count towards this group. */
  match: RegExp;
  /** An entry that imports the group the way our code does; none: not timed alone (our code, the SDK, other). */
  entry?: string;

  /** Fixed by the design card (README "Decisions"): the gap it makes stays. */
  card?: true;
}

/**
 * What every twin loads too (the DynamoDB document client, with the Node built-ins the SDK pulls in): each group
 * is timed on top of it, so its cost is what it adds to a twin-like bundle, not the built-ins both load.
 */
const BASE =
  "export { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\nexport { DynamoDBClient } from '@aws-sdk/client-dynamodb';";

/** First match wins: the tracer's packages before Powertools, ours before "other". */
export const GROUPS: Group[] = [
  {
    name: 'ElectroDB',
    match: /^electrodb$|stubs\/jsonschema/,
    entry: "export { Entity, Service } from 'electrodb';",
    card: true,
  },
  {
    // Parsed at every cold start, evaluated only when a traced invocation loads it (tracing.ts), as here.
    name: 'X-Ray tracer',
    match:
      /^(@aws-lambda-powertools\/tracer|aws-xray-sdk-core|semver|cls-hooked|emitter-listener|shimmer|async-hook-jl|stack-chain)$/,
    entry: "export const load = () => import('@aws-lambda-powertools/tracer');",
    card: true,
  },
  {
    name: 'Powertools',
    match: /^@aws-lambda-powertools\/|^@aws\/lambda-invoke-store$/,
    entry:
      "export { Logger } from '@aws-lambda-powertools/logger';\n" +
      "export { Metrics } from '@aws-lambda-powertools/metrics';\n" +
      "export { BatchProcessor, processPartialResponse } from '@aws-lambda-powertools/batch';",
    card: true,
  },
  {
    name: 'middy',
    match: /^@middy\//,
    entry:
      "export { default as middy } from '@middy/core';\nexport { default as json } from '@middy/http-json-body-parser';",
    card: true,
  },
  { name: 'valibot', match: /^valibot$/, entry: "export * as v from 'valibot';", card: true },
  { name: 'jose', match: /^jose$/, entry: "export { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';" },
  {
    name: 'libphonenumber-js',
    match: /^libphonenumber-js$/,
    entry: "export { parsePhoneNumberFromString } from 'libphonenumber-js/max';",
  },
  { name: 'more AWS SDK', match: /^(@aws-sdk|@smithy|@aws)\// },
  { name: 'our code', match: /^(packages\/|functions$|infra\/)/ },
  { name: 'other', match: /./ },
];

export const groupOf = (pkg: string) => GROUPS.find((g) => g.match.test(pkg))?.name ?? 'other';

/** A group's import cost: the median paired CPU ms over the document client alone, and the group's own KiB. */
export interface GroupCost {
  name: string;
  ms: number;
  kib: number;
  /** KiB of other packages the group brings beyond the base (ElectroDB: the DynamoDB commands its CommonJS require keeps). */
  pulledKib: number;
  /** ms per KiB of this group's own code. */
  msPerKib: number;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * What each bundle of `keys` adds to the import of `reference` (CPU ms): each round imports the reference and
 * then each bundle in fresh processes, the reference again beside every one of them (in alternating order), and
 * the cost is the median over rounds of the paired differences. A background process slows a pair's two
 * imports alike, so pairs stay steady where lone samples do not (the least of a few, used before, moved a
 * group's price by 2–3× between runs).
 */
function pairedCosts(dir: string, reference: string, keys: string[], runs: number): Map<string, number> {
  const diffs = new Map(keys.map((k) => [k, [] as number[]]));
  for (let r = 0; r < runs; r++)
    for (const [i, k] of keys.entries()) {
      const first = (r + i) % 2 === 0;
      const a = importCpu(join(dir, `${first ? reference : k}.mjs`));
      const b = importCpu(join(dir, `${first ? k : reference}.mjs`));
      diffs.get(k)?.push(first ? b - a : a - b);
    }
  return new Map(keys.map((k) => [k, Math.max(0, median(diffs.get(k) ?? []))]));
}

/** CPU ms (user + system) the import of `file` takes in a fresh process: under a loaded machine, steadier than wall time. */
function importCpu(file: string): number {
  const script = `const c = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); const u = process.cpuUsage(c); process.stdout.write(String((u.user + u.system) / 1000));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', AWS_REGION: 'us-east-1', TABLE_NAME: 'gap' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Number(out);
}

/** Each source (key → module text) written to `dir` and bundled with the deployed options to `<key>.mjs`. */
async function bundleSources(dir: string, sources: Record<string, string>) {
  const entries: Record<string, string> = {};
  for (const [k, text] of Object.entries(sources)) {
    entries[k] = join(dir, `${k}.ts`);
    writeFileSync(entries[k] as string, `${text}\n`);
  }
  return build({
    ...DEPLOYED_ESBUILD,
    sourcemap: false,
    entryPoints: entries,
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: REPO,
    metafile: true,
    // The entries sit outside the workspace: resolve the libraries from the packages that depend on them.
    nodePaths: [
      ...readdirSync(join(REPO, 'packages')).map((p) => join(REPO, 'packages', p, 'node_modules')),
      join(REPO, 'node_modules'),
    ],
    logLevel: 'error',
  });
}

/**
 * Every timed group bundled on top of BASE (deployed options), and BASE alone, each imported `runs` times by
 * fresh processes in pairs with BASE; cost = the median paired difference of import CPU ms, KiB =
 * the group's own packages in that bundle (esbuild metafile). About 10 bundles × `runs` processes.
 */
export async function measureGroups(runs = 5): Promise<GroupCost[]> {
  const dir = mkdtempSync(join(tmpdir(), 'svc-gap-'));
  const timed = GROUPS.filter((g) => g.entry);
  const sources: Record<string, string> = { base: BASE };
  for (const [i, g] of timed.entries()) sources[`g${i}`] = `${BASE}\n${g.entry}`;
  const built = await bundleSources(dir, sources);
  const cost = pairedCosts(
    dir,
    'base',
    timed.map((_, i) => `g${i}`),
    runs,
  );
  const outputOf = (k: string) =>
    Object.entries(built.metafile?.outputs ?? {}).find(([file]) => file.endsWith(`/${k}.mjs`))?.[1];
  const totalOf = (k: string) => outputOf(k)?.bytes ?? 0;
  return timed.map((g, i) => {
    let bytes = 0;
    for (const [input, { bytesInOutput }] of Object.entries(outputOf(`g${i}`)?.inputs ?? {}))
      if (groupOf(packageOf(input)) === g.name) bytes += bytesInOutput;
    const ms = cost.get(`g${i}`) ?? 0;
    const kib = bytes / 1024;
    const pulledKib = Math.max(0, (totalOf(`g${i}`) - totalOf('base') - bytes) / 1024);
    return { name: g.name, ms, kib, pulledKib, msPerKib: kib > 0 ? ms / kib : 0 };
  });
}

/** The services whose functions build ElectroDB models (function names start with the service's name). */
export const MODEL_SERVICES = ['assistance', 'dispatch', 'stats', 'tasks', 'visits'] as const;
export type ModelService = (typeof MODEL_SERVICES)[number];
export const serviceOf = (functionName: string): ModelService | undefined =>
  MODEL_SERVICES.find((s) => functionName.toLowerCase().startsWith(s));

/**
 * What building a service's ElectroDB models costs at import (CPU ms): a bundle that imports the service's
 * entities module and builds its Service (`<service>Db()`, as the first call does), against one that loads the
 * same ElectroDB and platform client without them. This is ElectroDB's work (parsing each entity's model into
 * its schema, key templates and clauses) that our code's `new Entity(...)` starts; the per-package prices above
 * only time loading the packages, so without it a cold line leaves this part unexplained.
 */
export async function measureModels(runs = 4): Promise<Map<ModelService, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'svc-models-'));
  const platform = JSON.stringify(join(REPO, 'packages/platform/src/index.ts'));
  // The same ElectroDB and platform client, then each service's entities and its Service built on top.
  const loaded = `import { dynamo } from ${platform};\nexport { Entity, Service } from 'electrodb';\ndynamo();`;
  const sources: Record<string, string> = { loaded };
  for (const svc of MODEL_SERVICES) {
    const entities = JSON.stringify(join(REPO, `packages/${svc}/src/entities.ts`));
    sources[svc] = `${loaded}\nimport { ${svc}Db } from ${entities};\n${svc}Db();`;
  }
  await bundleSources(dir, sources);
  const cost = pairedCosts(dir, 'loaded', [...MODEL_SERVICES], runs);
  return new Map(MODEL_SERVICES.map((svc) => [svc, cost.get(svc) ?? 0]));
}

/** Where the prices are kept between runs: measured alone on a quiet machine (`--save`), read by `pnpm bench`. */
export const GAP_FILE = fileURLToPath(new URL('./gap-costs.json', import.meta.url));

export interface StoredGap {
  measured: string;
  command: string;
  runs: number;
  groups: GroupCost[];
  models: Partial<Record<ModelService, number>>;
}

export function readStoredGap(): StoredGap | undefined {
  try {
    return JSON.parse(readFileSync(GAP_FILE, 'utf8')) as StoredGap;
  } catch {
    return undefined;
  }
}

/** The package an input of the metafile belongs to: a node_modules package by name, our code by folder. */
export const packageOf = (input: string) =>
  input.match(/node_modules\/(?!.*node_modules\/)((?:@[^/]+\/)?[^/]+)/)?.[1] ??
  input.match(/^(packages\/[^/]+|functions|test\/bench|infra\/lib\/stubs\/jsonschema)/)?.[1] ??
  input;

/** KiB per group that `real` carries beyond `twin` (both: package → output bytes, as section 1 counts them). */
export function extraByGroup(real: [string, number][], twin: [string, number][]): Map<string, number> {
  const twinBytes = new Map(twin);
  const extra = new Map<string, number>();
  for (const [pkg, bytes] of real) {
    const more = bytes - (twinBytes.get(pkg) ?? 0);
    if (more <= 0) continue;
    const g = groupOf(pkg);
    extra.set(g, (extra.get(g) ?? 0) + more / 1024);
  }
  return extra;
}

/**
 * One function's cold gap in words: its extra KiB per group. A timed group costs its measured ms in the share of
 * it the function carries (its KiB over the group's KiB alone), and what it pulls in with it (ElectroDB: the
 * AWS SDK commands it requires) is taken out of "more AWS SDK"; the groups not timed alone (our code, the rest of
 * the SDK, other) are priced at the function's own average (its import CPU ms over its KiB).
 */
export function gapComposition(
  extra: Map<string, number>,
  costs: GroupCost[],
  averageMsPerKib: number,
): { text: string; cardMs: number; oursMs: number; totalMs: number } {
  const left = new Map(extra);
  const priced = new Map<string, { kib: number; pulled: number; ms: number }>();
  for (const c of costs) {
    const kib = left.get(c.name) ?? 0;
    if (kib < 1) continue;
    const share = c.kib > 0 ? Math.min(1, kib / c.kib) : 0;
    const pulled = Math.min(c.pulledKib * share, left.get('more AWS SDK') ?? 0);
    left.set('more AWS SDK', (left.get('more AWS SDK') ?? 0) - pulled);
    priced.set(c.name, { kib, pulled, ms: c.ms * share });
  }
  const parts: string[] = [];
  let cardMs = 0;
  let oursMs = 0;
  let totalMs = 0;
  for (const g of GROUPS) {
    const p = priced.get(g.name);
    const kib = p?.kib ?? left.get(g.name) ?? 0;
    if (kib < 1) continue;
    const ms = p ? p.ms : kib * averageMsPerKib;
    totalMs += ms;
    if (g.card) cardMs += ms;
    if (g.name === 'our code') oursMs += ms;
    const pulled = p && p.pulled >= 5 ? ` (+${p.pulled.toFixed(0)} KiB it loads with it)` : '';
    parts.push(`${g.name} ${kib.toFixed(0)} KiB${pulled} ~${ms.toFixed(0)} ms`);
  }
  return { text: parts.join(', '), cardMs, oursMs, totalMs };
}

export const GAP_LEGEND =
  "Each cold miss above lists what its bundle carries beyond its twin's, per library group (esbuild metafile: " +
  'real − twin output bytes per package), each priced at the import CPU that group was measured to add, in the ' +
  'share of it the function carries, with what it loads along (ElectroDB reaches the SDK through a CommonJS ' +
  "require, which keeps the DynamoDB commands and their schemas whole: those bytes count as ElectroDB's, not as " +
  '"more AWS SDK") (the ' +
  'table below: the group bundled with the deployed options on top of the DynamoDB document client every twin ' +
  'loads, imported by fresh processes in turn with the client alone); our code, the rest of the AWS SDK and ' +
  'other packages are priced at the function\'s own average (its import ms / its KiB). "card" = ElectroDB, ' +
  'middy, Powertools (its X-Ray tracer included: tracing is on in dev and prod, README Decisions, issue 19) and ' +
  'valibot, which the design card fixes. These estimate the import gap; the first-call gap (first use of the ' +
  "middleware and ElectroDB, Powertools Metrics' set-up, the first connections) is not split by package.";

export function groupTable(costs: GroupCost[], runs: number): string[] {
  return [
    `What each library group adds to an import (CPU ms, the median of ${runs} pairs of fresh processes, the group's bundle beside the client's alone): the group ` +
      'bundled with the deployed options on top of the DynamoDB document client every twin loads, minus the ' +
      'client alone; "its KiB" is the group\'s own code in that bundle, beside what else it loads.',
    '',
    '| group | its KiB | KiB of other packages it loads | import CPU ms |',
    '| --- | --- | --- | --- |',
    ...costs.map(
      (c) => `| ${c.name} | ${c.kib.toFixed(0)} | ${c.pulledKib.toFixed(0)} | ${c.ms.toFixed(1)} |`,
    ),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 8;
  const t0 = performance.now();
  const costs = await measureGroups(runs);
  for (const line of groupTable(costs, runs)) console.log(line);
  const models = await measureModels(runs);
  if (process.argv.includes('--save')) {
    const stored: StoredGap = {
      measured: new Date().toISOString(),
      command: `pnpm exec tsx test/bench/gap.ts --runs ${runs} --save`,
      runs,
      groups: costs,
      models: Object.fromEntries(models),
    };
    writeFileSync(GAP_FILE, `${JSON.stringify(stored, null, 2)}\n`);
    console.log(`wrote ${GAP_FILE}`);
  }
  console.log(
    `\nBuilding each service's ElectroDB models at import (CPU ms): ${[...models].map(([s, ms]) => `${s} ${ms.toFixed(1)}`).join(', ')}`,
  );
  console.log(`\n${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
