import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InvokeMessage, InvokeReply, ReadyMessage } from './function-worker.js';

/** The monorepo root: handler paths in route tables are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const WORKER_MODULE = fileURLToPath(new URL('./function-worker.ts', import.meta.url));
const TSX_API = createRequire(import.meta.url).resolve('tsx/esm/api');

// CommonJS on purpose: an eval worker is a script. It registers tsx, then loads the TypeScript worker body.
const BOOTSTRAP = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
require(workerData.tsxApi).register();
import(require('node:url').pathToFileURL(workerData.workerModule).href).catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

export interface FunctionSpec {
  functionName: string;
  /** Repo-relative handler file exporting `handler`. */
  handler: string;
  environment: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
}

/** A function failed (threw, crashed or timed out): API Gateway answers 500, SQS redelivers. */
export class InvocationError extends Error {
  constructor(
    readonly functionName: string,
    message: string,
    readonly kind: 'error' | 'timeout' | 'crash',
    stack?: string,
  ) {
    super(`${functionName}: ${message}`);
    this.name = 'InvocationError';
    if (stack) this.stack = stack;
  }
}

export type LogSink = (functionName: string, line: string) => void;

/** Sandboxes one function may have at once locally, unless the runtime is told otherwise (see README). */
export const DEFAULT_MAX_SANDBOXES = 4;

/** An idle sandbox beyond a function's first is stopped after this long, to give its memory back. */
const IDLE_SANDBOX_MS = 60_000;

/**
 * How long a sandbox's init phase (loading the handler module) may take. Lambda allows 10 s, apart from
 * the function timeout; locally init transpiles TypeScript on a shared machine, so it gets a minute.
 */
export const INIT_TIMEOUT_MS = 60_000;

/**
 * One Lambda execution environment: a worker thread with its own module graph and `process.env`,
 * serving one invocation at a time. Started on first use (a cold start), kept warm between
 * invocations, and thrown away after a timeout or a crash (the next invocation gets a new one).
 */
class Sandbox {
  private readonly worker: Worker;
  private nextId = 1;
  private current?: { id: number; resolve: (value: unknown) => void; reject: (error: Error) => void };
  private idleTimer?: NodeJS.Timeout;
  /** Resolves true once the handler module has loaded (or failed to, which each invocation then reports), false if the sandbox died or init timed out. */
  readonly ready: Promise<boolean>;
  private markReady: (ok: boolean) => void = () => undefined;
  dead = false;
  /** Invocations this sandbox has served (1 = this is its cold start). */
  served = 0;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly log: LogSink,
    private readonly onGone: (sandbox: Sandbox) => void,
  ) {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      env: { ...spec.environment },
      execArgv: [],
      workerData: {
        tsxApi: TSX_API,
        workerModule: WORKER_MODULE,
        handlerFile: `${REPO_ROOT}${spec.handler}`,
      },
      stdout: true,
      stderr: true,
    });
    worker.unref();
    this.pipe(worker.stdout);
    this.pipe(worker.stderr);
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    const initTimer = setTimeout(() => {
      this.discard(
        new InvocationError(spec.functionName, `init timed out after ${INIT_TIMEOUT_MS} ms`, 'timeout'),
      );
    }, INIT_TIMEOUT_MS);
    initTimer.unref();
    worker.on('message', (reply: InvokeReply | ReadyMessage) => {
      if ('ready' in reply) {
        clearTimeout(initTimer);
        return this.markReady(true);
      }
      const current = this.current;
      if (!current || current.id !== reply.id) return;
      this.current = undefined;
      if ('error' in reply)
        current.reject(
          new InvocationError(spec.functionName, reply.error.message, 'error', reply.error.stack),
        );
      else current.resolve(reply.result);
    });
    worker.on('error', (error) => {
      this.discard(new InvocationError(spec.functionName, error.message, 'crash', error.stack));
    });
    worker.on('exit', (code) => {
      this.discard(new InvocationError(spec.functionName, `sandbox exited (${code})`, 'crash'));
    });
    this.worker = worker;
  }

  /** Runs one invocation on a ready sandbox; the function's timeout starts now, as Lambda's does. */
  run(event: unknown): Promise<unknown> {
    clearTimeout(this.idleTimer);
    this.served++;
    return this.invokeReady(event);
  }

  private invokeReady(event: unknown): Promise<unknown> {
    const id = this.nextId++;
    const deadline = Date.now() + this.spec.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops and discards a sandbox that timed out; only this invocation fails with it.
        this.discard(
          new InvocationError(this.spec.functionName, `timed out after ${this.spec.timeoutMs} ms`, 'timeout'),
        );
      }, this.spec.timeoutMs);
      this.current = {
        id,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const message: InvokeMessage = {
        id,
        event,
        context: {
          functionName: this.spec.functionName,
          awsRequestId: randomUUID(),
          memoryLimitInMB: String(this.spec.memoryMb),
          deadline,
        },
      };
      this.worker.postMessage(message);
    });
  }

  /** Idle from now on; `expire` is called if it stays idle for IDLE_SANDBOX_MS. */
  idle(expire?: () => void): void {
    clearTimeout(this.idleTimer);
    if (expire) {
      this.idleTimer = setTimeout(expire, IDLE_SANDBOX_MS);
      this.idleTimer.unref();
    }
  }

  /** Fails the invocation in flight, if any, and stops the worker. */
  discard(error: InvocationError): void {
    clearTimeout(this.idleTimer);
    const current = this.current;
    this.current = undefined;
    current?.reject(error);
    if (this.dead) return;
    this.dead = true;
    this.markReady(false);
    this.onGone(this);
    void this.worker.terminate();
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const current = this.current;
    this.current = undefined;
    current?.reject(new InvocationError(this.spec.functionName, 'runtime stopped', 'crash'));
    this.dead = true;
    this.markReady(false);
    await this.worker.terminate();
  }

  private pipe(stream: NodeJS.ReadableStream): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        this.log(this.spec.functionName, buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buffered) this.log(this.spec.functionName, buffered);
    });
  }
}

/** What a function's pool looks like now (tests read it to see cold starts and reuse). */
export interface PoolStats {
  /** Sandboxes alive (busy or idle). */
  sandboxes: number;
  busy: number;
  /** Sandboxes ever started for the function: each was a cold start. */
  coldStarts: number;
  /** Invocations waiting because every sandbox is busy and the pool is at its cap. */
  waiting: number;
}

/**
 * Lambda's model for one function: one sandbox per concurrent invocation. An invocation takes the most
 * recently used idle sandbox (warm); with none idle the pool starts a new one (a cold start), up to
 * `maxSandboxes`. A waiting invocation runs on whichever sandbox is ready first, the new one or a warm one
 * freed meanwhile (in AWS it would wait for the new one), and past the cap invocations wait their turn
 * (where AWS would scale further or throttle). So module state is never shared between concurrent
 * invocations, one timeout fails only its own invocation, and cold starts happen as load grows.
 */
class FunctionPool {
  private readonly all = new Set<Sandbox>();
  private readonly idle: Sandbox[] = [];
  private readonly waiting: Array<(sandbox: Sandbox) => void> = [];
  /** Sandboxes started and still in their init phase. */
  private starting = 0;
  private coldStarts = 0;
  private stopped = false;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly log: LogSink,
    private readonly maxSandboxes: number,
  ) {}

  /** `onStart` is called when a sandbox takes the invocation (after any wait for one). */
  async invoke(event: unknown, onStart?: () => void): Promise<unknown> {
    const sandbox = await this.acquire();
    onStart?.();
    try {
      return await sandbox.run(event);
    } finally {
      this.offer(sandbox);
    }
  }

  stats(): PoolStats {
    return {
      sandboxes: this.all.size,
      busy: this.all.size - this.idle.length - this.starting,
      coldStarts: this.coldStarts,
      waiting: this.waiting.length,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const sandboxes = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(sandboxes.map((s) => s.stop()));
  }

  private acquire(): Promise<Sandbox> {
    if (this.stopped)
      return Promise.reject(new InvocationError(this.spec.functionName, 'runtime stopped', 'crash'));
    const warm = this.idle.pop();
    if (warm) return Promise.resolve(warm);
    const waited = new Promise<Sandbox>((resolve) => this.waiting.push(resolve));
    this.grow();
    return waited;
  }

  /** Starts sandboxes for the invocations waiting beyond those already starting, within the cap. */
  private grow(): void {
    while (this.starting < this.waiting.length && this.all.size < this.maxSandboxes) {
      this.coldStarts++;
      this.starting++;
      const sandbox = new Sandbox(this.spec, this.log, (gone) => {
        this.all.delete(gone);
        const at = this.idle.indexOf(gone);
        if (at >= 0) this.idle.splice(at, 1);
      });
      this.all.add(sandbox);
      void sandbox.ready.then((ok) => {
        this.starting--;
        if (ok) this.offer(sandbox);
        else if (!this.stopped) this.grow();
      });
    }
  }

  /** A ready sandbox is free: the next waiting invocation takes it, otherwise it idles warm. */
  private offer(sandbox: Sandbox): void {
    if (this.stopped) return;
    if (sandbox.dead) {
      this.grow();
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      next(sandbox);
      return;
    }
    this.idle.push(sandbox);
    sandbox.idle(
      this.all.size > 1
        ? () => {
            if (this.all.size > 1 && this.idle.includes(sandbox))
              sandbox.discard(new InvocationError(this.spec.functionName, 'idle', 'crash'));
          }
        : undefined,
    );
  }
}

/** All function containers of the runtime, by function name. */
export class FunctionHost {
  private readonly containers = new Map<string, FunctionPool>();

  constructor(
    specs: readonly FunctionSpec[],
    log: LogSink,
    options: { maxSandboxesPerFunction?: number } = {},
  ) {
    const max = Math.max(1, options.maxSandboxesPerFunction ?? DEFAULT_MAX_SANDBOXES);
    for (const spec of specs) this.containers.set(spec.functionName, new FunctionPool(spec, log, max));
  }

  /** Sandboxes, busy ones and cold starts of one function so far. */
  stats(functionName: string): PoolStats {
    const pool = this.containers.get(functionName);
    if (!pool) throw new Error(`no function named ${functionName}`);
    return pool.stats();
  }

  has(functionName: string): boolean {
    return this.containers.has(functionName);
  }

  /** `onStart` runs when a sandbox takes the invocation: the wait for a free one (the local cap) is over. */
  invoke(functionName: string, event: unknown, onStart?: () => void): Promise<unknown> {
    const container = this.containers.get(functionName);
    if (!container) return Promise.reject(new Error(`no function named ${functionName}`));
    return container.invoke(event, onStart);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.containers.values()].map((c) => c.stop()));
  }
}
