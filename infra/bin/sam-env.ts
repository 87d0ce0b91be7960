import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackName } from '../lib/services-stack.js';

/**
 * `pnpm sam:env <stage> [--outputs <file>] [--jwt <token>] [--session <token>]`
 *
 * SAM cannot resolve `Ref`/`Fn::GetAtt` in a template's environment (TABLE_NAME, queue URLs,
 * CALLBACK_BASE_URL, REPORTS_BUCKET): it would hand the function the unresolved object. Every such value
 * is also a stack output with the same expression (test/infra/prod-deploy.test.ts checks it), so this
 * reads the synthesized template (cdk.out/Svc-<stage>.template.json) and the outputs of the deployed stack
 * (`cdk deploy --outputs-file cdk-outputs.json`, the default file) and writes `.sam/env.<stage>.json`, the
 * `--env-vars` file of `sam local invoke`: every variable of every function, resolved. Offline, no AWS call.
 *
 * With `--jwt` (a token of the stage's issuer) and/or `--session` (a visits token from
 * `POST /api/auth/session`), it also writes `.sam/events/<service>/<file>.json`: the sample events with
 * that token in their Authorization header.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
  >;
  Outputs?: Record<string, { Value: unknown }>;
};

/** Function logical id → its environment with every CloudFormation expression replaced by the output's value. */
export function samEnvironment(
  template: Template,
  outputs: Record<string, string>,
): { env: Record<string, Record<string, string>>; unresolved: string[] } {
  const byExpression = new Map<string, string>();
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const value = outputs[key];
    if (value !== undefined) byExpression.set(JSON.stringify(output.Value), value);
  }
  const env: Record<string, Record<string, string>> = {};
  const unresolved: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const variables = resource.Properties?.Environment?.Variables;
    if (!variables) continue;
    const resolved: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      const literal = typeof value === 'string' ? value : byExpression.get(JSON.stringify(value));
      if (literal === undefined) unresolved.push(`${id}.${name}`);
      else resolved[name] = literal;
    }
    env[id] = resolved;
  }
  return { env, unresolved };
}

/** A sample event with its bearer placeholder replaced, or undefined when it carries none of that kind. */
export function withToken(event: string, tokens: { jwt?: string; session?: string }): string | undefined {
  const parsed = JSON.parse(event) as { headers?: Record<string, string> };
  const header = parsed.headers?.authorization;
  if (!header?.startsWith('Bearer <')) return undefined;
  const token = /POST \/api\/auth\/session/.test(header) ? tokens.session : tokens.jwt;
  if (!token) return undefined;
  parsed.headers = { ...parsed.headers, authorization: `Bearer ${token}` };
  return `${JSON.stringify(parsed, null, 2)}\n`;
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function main(args: string[]): number {
  const stage = args[0];
  if (!stage || stage.startsWith('--')) {
    process.stderr.write(
      'usage: pnpm sam:env <stage> [--outputs cdk-outputs.json] [--jwt <token>] [--session <token>]\n',
    );
    return 2;
  }
  const stack = stackName(stage);
  const templateFile = join(REPO, 'cdk.out', `${stack}.template.json`);
  const outputsFile = join(REPO, option(args, '--outputs') ?? 'cdk-outputs.json');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const allOutputs = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
  const outputs = allOutputs[stack];
  if (!outputs) {
    process.stderr.write(`${outputsFile} has no outputs of ${stack}; deploy with --outputs-file first\n`);
    return 1;
  }
  const { env, unresolved } = samEnvironment(template, outputs);
  if (unresolved.length > 0) {
    process.stderr.write(
      `no output resolves: ${unresolved.join(', ')} (was ${templateFile} synthesized for ${stage}?)\n`,
    );
    return 1;
  }
  const out = join(REPO, '.sam', `env.${stage}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(env, null, 2)}\n`);
  process.stdout.write(`wrote ${out} (${Object.keys(env).length} functions)\n`);

  const tokens = { jwt: option(args, '--jwt'), session: option(args, '--session') };
  if (tokens.jwt || tokens.session) {
    let written = 0;
    for (const service of readdirSync(join(REPO, 'events'))) {
      for (const file of readdirSync(join(REPO, 'events', service))) {
        const filled = withToken(readFileSync(join(REPO, 'events', service, file), 'utf8'), tokens);
        if (!filled) continue;
        mkdirSync(join(REPO, '.sam', 'events', service), { recursive: true });
        writeFileSync(join(REPO, '.sam', 'events', service, file), filled);
        written++;
      }
    }
    process.stdout.write(`wrote ${written} events with tokens under .sam/events/\n`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2));
