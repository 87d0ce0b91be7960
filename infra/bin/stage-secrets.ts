import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ROUTING_RULES_PARAMETER } from '@svc/assistance/routes';
import { DEFAULT_ROUTING_RULES, parseRulesText } from '@svc/assistance/rules';
import type { ServiceDefinition } from '@svc/platform/routes';
import { services as registry } from '../lib/services.js';
import { parameterName, stageConfig, upperSnake } from '../lib/stage-config.js';

/**
 * `pnpm stage:secrets <stage> [--overwrite]`: creates the SSM parameters a stage's functions read
 * (every `access.parameters` name in the route tables) as `/svc/<stage>/<name>`, before `cdk deploy`.
 * Values come from `SVC_SECRET_<NAME>` or a prompt; an empty answer generates `*-secret` values and
 * uses the default routing rules. Existing parameters are left alone unless `--overwrite`.
 */

export const USAGE = 'usage: pnpm stage:secrets <stage> [--overwrite]';

/** How many names one GetParameters call accepts. */
const GET_PARAMETERS_LIMIT = 10;

export interface StageParameter {
  /** Logical name from the route tables, e.g. `visits-token-secret`. */
  logicalName: string;
  /** `/svc/<stage>/<logicalName>`. */
  name: string;
  type: 'String' | 'SecureString';
  /** `SVC_SECRET_<UPPER_SNAKE>`: where the value comes from without a prompt. */
  envVar: string;
  /** What an empty value means: a random secret, a default document, or nothing (the value is required). */
  whenEmpty: 'generate' | 'default' | 'required';
  defaultValue?: string;
  /** Rejects a value the functions could not use (a message), before anything is written. */
  validate?: (value: string) => string | undefined;
}

export const secretEnvVar = (logicalName: string) => `SVC_SECRET_${upperSnake(logicalName)}`;

/** A random 32-byte value as 64 hex characters. */
export const generateSecret = () => randomBytes(32).toString('hex');

/** Every parameter the route tables name, once each, in registry order. */
export function stageParameters(
  stage: string,
  services: readonly ServiceDefinition[] = registry,
): StageParameter[] {
  const names = new Set<string>();
  for (const service of services) {
    for (const entry of [...service.routes, ...(service.consumers ?? []), ...(service.schedules ?? [])]) {
      for (const name of entry.access.parameters ?? []) names.add(name);
    }
  }
  return [...names].map((logicalName): StageParameter => {
    const base = { logicalName, name: parameterName(stage, logicalName), envVar: secretEnvVar(logicalName) };
    if (logicalName === ROUTING_RULES_PARAMETER) {
      return {
        ...base,
        type: 'String',
        whenEmpty: 'default',
        defaultValue: JSON.stringify(DEFAULT_ROUTING_RULES),
        validate: (value) => {
          try {
            parseRulesText(value);
            return undefined;
          } catch (error) {
            return (error as Error).message;
          }
        },
      };
    }
    return {
      ...base,
      type: 'SecureString',
      whenEmpty: logicalName.endsWith('-secret') ? 'generate' : 'required',
    };
  });
}

export interface StageSecretsOptions {
  stage: string;
  overwrite?: boolean;
  /** Defaults to the app's registry (`infra/lib/services.ts`). */
  services?: readonly ServiceDefinition[];
  /** Where `SVC_SECRET_*` values are read (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Whether values may be asked for (default: stdin is a terminal). */
  interactive?: boolean;
  /** Asks one question; `hidden` for SecureStrings (default: the terminal, without echo when hidden). */
  prompt?: (question: string, hidden: boolean) => Promise<string>;
  /** Default: an SSMClient configured from the environment (region, credentials, AWS_ENDPOINT_URL_SSM). */
  client?: SSMClient;
  log?: (line: string) => void;
}

export interface StageSecretsResult {
  created: string[];
  overwritten: string[];
  skipped: string[];
}

/** Resolves every value first and writes only when all are there, so a failed run changes nothing. */
export async function stageSecrets(options: StageSecretsOptions): Promise<StageSecretsResult> {
  const stage = stageConfig(options.stage).name; // rejects names no stack could have
  const env = options.env ?? process.env;
  const interactive = options.interactive ?? process.stdin.isTTY === true;
  const prompt = options.prompt ?? askTerminal;
  const log = options.log ?? ((line: string) => console.log(line));
  const client = options.client ?? new SSMClient({});

  const parameters = stageParameters(stage, options.services);
  const existing = await existingNames(
    client,
    parameters.map((p) => p.name),
  );
  const result: StageSecretsResult = { created: [], overwritten: [], skipped: [] };
  const pending = parameters.filter((p) => {
    if (options.overwrite || !existing.has(p.name)) return true;
    result.skipped.push(p.name);
    log(`skip    ${p.name} (exists; --overwrite replaces it)`);
    return false;
  });

  const values = new Map<StageParameter, { value: string; generated: boolean }>();
  const missing: StageParameter[] = [];
  const invalid: string[] = [];
  for (const parameter of pending) {
    let answer = env[parameter.envVar];
    if (answer === undefined) {
      if (!interactive) {
        missing.push(parameter);
        continue;
      }
      answer = await prompt(questionFor(parameter), parameter.type === 'SecureString');
    }
    const resolved = resolveValue(parameter, answer);
    if (!resolved) {
      missing.push(parameter);
      continue;
    }
    const problem = parameter.validate?.(resolved.value);
    if (problem) invalid.push(`${parameter.name} (${parameter.envVar}): ${problem}`);
    else values.set(parameter, resolved);
  }

  if (missing.length > 0 || invalid.length > 0) {
    throw new Error(failureMessage(stage, missing, invalid, interactive));
  }

  for (const [parameter, { value, generated }] of values) {
    const replacing = existing.has(parameter.name);
    await client.send(
      new PutParameterCommand({
        Name: parameter.name,
        Value: value,
        Type: parameter.type,
        Overwrite: replacing,
        Description: `svc ${stage}: ${parameter.logicalName} (pnpm stage:secrets)`,
      }),
    );
    (replacing ? result.overwritten : result.created).push(parameter.name);
    const how = generated ? ', generated' : '';
    log(`${replacing ? 'replace' : 'create '} ${parameter.name} (${parameter.type}${how})`);
  }
  return result;
}

/** The value an answer stands for, or undefined when it is empty and the parameter has no fallback. */
function resolveValue(
  parameter: StageParameter,
  answer: string,
): { value: string; generated: boolean } | undefined {
  const value = answer.trim();
  if (value !== '') return { value, generated: false };
  if (parameter.whenEmpty === 'generate') return { value: generateSecret(), generated: true };
  if (parameter.whenEmpty === 'default' && parameter.defaultValue !== undefined)
    return { value: parameter.defaultValue, generated: false };
  return undefined;
}

function questionFor(parameter: StageParameter): string {
  const hint =
    parameter.whenEmpty === 'generate'
      ? ' [Enter: generate a random value]'
      : parameter.whenEmpty === 'default'
        ? ' [Enter: the default rules]'
        : '';
  return `${parameter.name} (${parameter.type})${hint}: `;
}

function failureMessage(stage: string, missing: StageParameter[], invalid: string[], interactive: boolean) {
  const lines = [`stage ${stage}: nothing was written.`];
  if (missing.length > 0) {
    lines.push(
      interactive
        ? 'No value was given for:'
        : 'No value for these parameters, and stdin is not a terminal to ask for them. Set:',
    );
    for (const p of missing) lines.push(`  ${p.envVar}  (${p.name}, ${p.type})`);
    lines.push(
      'An empty value generates a random secret for names ending in -secret and uses the default routing rules for assistance-routing-rules.',
    );
  }
  if (invalid.length > 0) lines.push('Invalid values:', ...invalid.map((line) => `  ${line}`));
  return lines.join('\n');
}

async function existingNames(client: SSMClient, names: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < names.length; i += GET_PARAMETERS_LIMIT) {
    const batch = names.slice(i, i + GET_PARAMETERS_LIMIT);
    // Without decryption: only whether each exists matters here.
    const reply = await client.send(new GetParametersCommand({ Names: batch, WithDecryption: false }));
    for (const p of reply.Parameters ?? []) if (p.Name) found.add(p.Name);
  }
  return found;
}

/** One question on the terminal; a hidden answer is read in raw mode so it is never echoed. */
async function askTerminal(question: string, hidden: boolean): Promise<string> {
  const { stdin, stdout } = process;
  if (!hidden || typeof stdin.setRawMode !== 'function') {
    const rl = createInterface({ input: stdin, output: stdout });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  }
  stdout.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stdout.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else if (ch >= ' ') answer += ch;
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** `<stage> [--overwrite]`; throws the usage line on anything else. */
export function parseCli(argv: readonly string[]): { stage: string; overwrite: boolean } {
  const parse = () => {
    try {
      return parseArgs({
        args: [...argv],
        options: { overwrite: { type: 'boolean' } },
        allowPositionals: true,
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${USAGE}`);
    }
  };
  const parsed = parse();
  const [stage, ...rest] = parsed.positionals;
  if (!stage || rest.length > 0) throw new Error(USAGE);
  return { stage, overwrite: parsed.values.overwrite === true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { stage, overwrite } = parseCli(process.argv.slice(2));
    const result = await stageSecrets({ stage, overwrite });
    console.log(
      `stage ${stage}: ${result.created.length} created, ${result.overwritten.length} replaced, ${result.skipped.length} skipped`,
    );
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
