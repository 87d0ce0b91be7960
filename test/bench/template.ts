// The dev stage's template without esbuild (the bench bundles with the same options itself, see
// infra/lib/bundling.ts): per function its handler file and the literal environment the template gives it.
// Run as its own process by test/bench/run.ts (CDK's synth is synchronous CPU work; the bench's main
// thread meanwhile starts the local runtime), result as JSON on stdout's last line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TemplateFunction {
  handler: string;
  /** The template's literal variables (NODE_OPTIONS included); CloudFormation-resolved ones are left out. */
  environment: Record<string, string>;
  /** The variables CloudFormation resolves at deploy (table, queue URLs, API URL): names only. */
  resolved: string[];
}

export async function devTemplate(): Promise<Record<string, TemplateFunction>> {
  const { createApp } = await import('../../infra/lib/create-app.js');
  const { services } = await import('../../infra/lib/services.js');
  const outdir = mkdtempSync(join(tmpdir(), 'svc-bench-synth-'));
  try {
    const { stack } = createApp({
      services,
      context: { stage: 'dev', 'aws:cdk:bundling-stacks': [] },
      nag: false,
      outdir,
    });
    const { Template } = await import('aws-cdk-lib/assertions');
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
    >;
    const out: Record<string, TemplateFunction> = {};
    for (const s of services)
      for (const f of [
        ...s.routes,
        ...(s.defaultRoute ? [s.defaultRoute] : []),
        ...(s.consumers ?? []),
        ...(s.schedules ?? []),
      ]) {
        const variables = resources[f.functionName]?.Properties?.Environment?.Variables ?? {};
        const literal = Object.entries(variables).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        );
        const resolved = Object.keys(variables).filter((k) => typeof variables[k] !== 'string');
        out[f.functionName] = { handler: f.handler, environment: Object.fromEntries(literal), resolved };
      }
    return out;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(`\n${JSON.stringify(await devTemplate())}\n`);
