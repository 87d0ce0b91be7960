import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ServiceDefinition } from '@svc/platform/routes';
import {
  allFunctions,
  functionEnvironment,
  type LocalEndpoints,
  type LocalFunction,
  localStage,
  timeoutMsOf,
} from './environment.js';
import { FunctionHost, REPO_ROOT } from './functions.js';
import { startLocalRuntime } from './runtime.js';

/**
 * `pnpm invoke <function> <event.json>`: runs one handler with one event, like `sam local invoke`
 * without containers. Uses the services of a running `pnpm dev` (same PORT) when there is one;
 * otherwise starts the local services just for this call. The result goes to stdout, logs to stderr.
 */
export function findFunction(
  services: readonly ServiceDefinition[],
  name: string,
): LocalFunction | undefined {
  const wanted = name.replace(/\.ts$/, '').replace(/^functions\//, '');
  return allFunctions(services).find(
    (fn) =>
      fn.entry.functionName === name ||
      fn.entry.functionName.toLowerCase() === name.toLowerCase() ||
      fn.entry.handler.replace(/\.ts$/, '').replace(/^functions\//, '') === wanted,
  );
}

export function resolveEventFile(file: string, cwd = process.cwd()): string {
  const candidates = [resolve(cwd, file), resolve(REPO_ROOT, file), resolve(REPO_ROOT, 'events', file)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`event file not found: ${file} (looked in ${candidates.join(', ')})`);
  return found;
}

export interface RunningDev {
  url: string;
  table_name: string;
  bucket_name: string;
  endpoints: LocalEndpoints;
}

export async function runningDev(port: string): Promise<RunningDev | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/__local/runtime`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok ? ((await response.json()) as RunningDev) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Invokes one function with one event against an already running local runtime (its endpoints and
 * table), in a fresh worker with exactly the environment CDK would give the function.
 */
export async function invokeWithRunningRuntime(
  dev: RunningDev,
  fn: NonNullable<ReturnType<typeof findFunction>>,
  event: unknown,
  log: (functionName: string, line: string) => void,
): Promise<unknown> {
  const stage = localStage(dev.url);
  const host = new FunctionHost(
    [
      {
        functionName: fn.entry.functionName,
        handler: fn.entry.handler,
        environment: functionEnvironment(
          fn,
          { stage, tableName: dev.table_name, bucketName: dev.bucket_name },
          dev.endpoints,
          dev.url,
        ),
        timeoutMs: timeoutMsOf(fn, stage),
        memoryMb: stage.functions.memoryMb,
      },
    ],
    log,
  );
  try {
    return await host.invoke(fn.entry.functionName, event);
  } finally {
    await host.stop();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, eventFile] = argv;
  const { services } = await import('@svc/infra/services');
  if (!name || !eventFile) {
    const names = allFunctions(services).map((fn) => `  ${fn.entry.functionName}  (${fn.entry.handler})`);
    process.stderr.write(`usage: pnpm invoke <function> <event.json>\nfunctions:\n${names.join('\n')}\n`);
    return 2;
  }
  const fn = findFunction(services, name);
  if (!fn) {
    process.stderr.write(`no function named ${name}; run without arguments to list them\n`);
    return 2;
  }
  const event = JSON.parse(await readFile(resolveEventFile(eventFile), 'utf8')) as unknown;
  const logToStderr = (functionName: string, line: string) =>
    process.stderr.write(`[${functionName}] ${line}\n`);

  const dev = await runningDev(process.env.PORT ?? '3000');
  if (dev) {
    process.stderr.write(`using the running local runtime at ${dev.url}\n`);
    try {
      return report(await invokeWithRunningRuntime(dev, fn, event, logToStderr));
    } catch (error) {
      return failure(error);
    }
  }

  process.stderr.write('no local runtime running; starting the local services for this call\n');
  const runtime = await startLocalRuntime({
    services,
    port: 0,
    schedules: false,
    pollQueues: false,
    log: logToStderr,
  });
  try {
    return report(await runtime.invoke(fn.entry.functionName, event));
  } catch (error) {
    return failure(error);
  } finally {
    await runtime.stop();
  }
}

function report(result: unknown): number {
  process.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`);
  return 0;
}

function failure(error: unknown): number {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('invoke.ts')) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
