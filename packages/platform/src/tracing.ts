/**
 * X-Ray tracing inside a function (README "Observability"): each invocation gets a `## <function>`
 * subsegment annotated with its request id (`annotateRequestId`), under which every AWS SDK call and every outbound HTTP call
 * (SMS providers, Slack, status callbacks: fetch and node:http(s)) appears as a subsegment of its own.
 *
 * Powertools Tracer (with aws-xray-sdk-core) is loaded only when the stage turns tracing on
 * (`tracing` in infra/lib/stage-config.ts → POWERTOOLS_TRACE_ENABLED=true) and the code runs in Lambda:
 * otherwise nothing of it is imported or evaluated (a dynamic import the bundle leaves unevaluated), and
 * `traced` only calls through. Locally there is no X-Ray daemon, so it is always a no-op there.
 */
type TracerModule = typeof import('@aws-lambda-powertools/tracer');
type Tracer = InstanceType<TracerModule['Tracer']>;

/** What the SDK clients need: a middleware stack Powertools can add its X-Ray middleware to. */
type SdkClient = { middlewareStack: { use: (...args: never[]) => unknown } };

/** True when this invocation should trace: the stage asked for it and the X-Ray context exists (Lambda). */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    env.POWERTOOLS_TRACE_ENABLED === 'true' &&
    (env.AWS_EXECUTION_ENV?.startsWith('AWS_Lambda_') ?? false) &&
    env.AWS_SAM_LOCAL !== 'true'
  );
}

const clients: SdkClient[] = [];
let loading: Promise<Tracer> | undefined;
let tracer: Tracer | undefined;

/**
 * Registers an SDK client to be traced (call where the client is created, once per container). With
 * tracing off this only keeps a reference; the client is instrumented when the first traced invocation
 * loads the Tracer, or at once if it is already loaded.
 */
export function traceClient<C extends object>(client: C): C {
  if (!tracingEnabled()) return client;
  if (tracer) tracer.captureAWSv3Client(client);
  else clients.push(client as unknown as SdkClient);
  return client;
}

/**
 * A bundle for a stage with tracing off can leave the Tracer out entirely: esbuild's
 * `define: { 'process.env.SVC_TRACER_BUNDLED': '"false"' }` makes this branch dead, so the import (370 KB of
 * Tracer and aws-xray-sdk-core, parsed at every cold start even unevaluated) is not bundled. Not set: bundled.
 */
function loadTracer(): Promise<Tracer> {
  if (process.env.SVC_TRACER_BUNDLED === 'false') {
    return Promise.reject(new Error('this bundle was built without the Tracer'));
  } else {
    loading ??= import('@aws-lambda-powertools/tracer').then(({ Tracer }) => {
      // Constructing it patches node:http(s) and subscribes to fetch (undici) for outbound calls.
      const t = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'services' });
      for (const client of clients.splice(0)) t.captureAWSv3Client(client);
      tracer = t;
      return t;
    });
    return loading;
  }
}

/**
 * Runs one invocation inside a `## <name>` subsegment (cold start and service annotated); SDK and HTTP
 * subsegments of the invocation nest under it. Off: just `work()`.
 */
export async function traced<R>(name: string, work: () => Promise<R>): Promise<R> {
  if (!tracingEnabled()) return work();
  const t = await loadTracer();
  const parent = t.getSegment();
  if (!parent) return work();
  const subsegment = parent.addNewSubsegment(`## ${name}`);
  t.setSegment(subsegment);
  t.annotateColdStart();
  t.addServiceNameAnnotation();
  try {
    return await work();
  } catch (error) {
    t.addErrorAsMetadata(error as Error);
    throw error;
  } finally {
    subsegment.close();
    t.setSegment(parent);
  }
}

/**
 * Annotates the invocation's subsegment with `request_id` (the API's x-request-id, or the Lambda request
 * id of a queue batch), so a trace is found by the id a caller or a log line gives:
 * `annotation.request_id = "…"`.
 */
export function annotateRequestId(requestId: string): void {
  if (tracer && tracingEnabled()) tracer.putAnnotation('request_id', requestId);
}
