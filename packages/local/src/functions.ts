import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InvokeMessage, InvokeReply } from './function-worker.js';

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

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One warm "container" per function, started on first use (a cold start) and replaced after a crash or
 * a timeout. Concurrent invocations share the container's event loop: cheaper than Lambda's one
 * invocation per container, and the same for handlers that keep no per-request module state.
 */
class FunctionContainer {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly log: LogSink,
  ) {}

  invoke(event: unknown): Promise<unknown> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const deadline = Date.now() + this.spec.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda freezes and discards a sandbox that timed out; so do we.
        this.fail(
          new InvocationError(this.spec.functionName, `timed out after ${this.spec.timeoutMs} ms`, 'timeout'),
        );
      }, this.spec.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
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
      worker.postMessage(message);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new InvocationError(this.spec.functionName, 'runtime stopped', 'crash'));
      this.pending.delete(id);
    }
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      env: { ...this.spec.environment },
      execArgv: [],
      workerData: {
        tsxApi: TSX_API,
        workerModule: WORKER_MODULE,
        handlerFile: `${REPO_ROOT}${this.spec.handler}`,
      },
      stdout: true,
      stderr: true,
    });
    worker.unref();
    this.pipe(worker.stdout);
    this.pipe(worker.stderr);
    worker.on('message', (reply: InvokeReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      clearTimeout(pending.timer);
      if ('error' in reply)
        pending.reject(
          new InvocationError(this.spec.functionName, reply.error.message, 'error', reply.error.stack),
        );
      else pending.resolve(reply.result);
    });
    worker.on('error', (error) => {
      if (this.worker === worker)
        this.fail(new InvocationError(this.spec.functionName, error.message, 'crash', error.stack));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker)
        this.fail(new InvocationError(this.spec.functionName, `container exited (${code})`, 'crash'));
    });
    this.worker = worker;
    return worker;
  }

  /** Fails every invocation in flight and throws the container away; the next call cold-starts. */
  private fail(error: InvocationError): void {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
    void worker?.terminate();
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

/** All function containers of the runtime, by function name. */
export class FunctionHost {
  private readonly containers = new Map<string, FunctionContainer>();

  constructor(specs: readonly FunctionSpec[], log: LogSink) {
    for (const spec of specs) this.containers.set(spec.functionName, new FunctionContainer(spec, log));
  }

  has(functionName: string): boolean {
    return this.containers.has(functionName);
  }

  invoke(functionName: string, event: unknown): Promise<unknown> {
    const container = this.containers.get(functionName);
    if (!container) return Promise.reject(new Error(`no function named ${functionName}`));
    return container.invoke(event);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.containers.values()].map((c) => c.stop()));
  }
}
