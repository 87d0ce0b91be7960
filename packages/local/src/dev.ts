import { startLocalRuntime } from './runtime.js';

/** `pnpm dev`: the whole system on this machine until Ctrl-C. */
const startedAt = Date.now();
process.stdout.write('Starting the local runtime (DynamoDB Local needs Java 17+)...\n');
const runtime = await startLocalRuntime();
{
  // Every local webhook writes change records from the start, so task reports carry forward at once
  // (in AWS the migration switches it on after the deploy: packages/tasks/README.md, "Migration").
  Object.assign(process.env, runtime.environmentOf('TasksGenerateReport'));
  const { enableCarryForward } = await import('@svc/tasks/carry-forward');
  await enableCarryForward();
}
const routes = runtime.services.flatMap((s) =>
  s.routes.map((r) => `  ${r.method.padEnd(6)} ${r.path}  → ${r.functionName}`),
);
process.stdout.write(
  [
    `Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s at ${runtime.url} (stage ${runtime.stage.name})`,
    ...routes,
    `  helpers: ${runtime.url}/__local/{token,outbox,queues,metrics,providers/<name>,schedules/<name>/run,docs}`,
    `  queue time runs ${Math.round(1 / runtime.timeFactor)}× faster than in AWS (visibility, delays, retries; README "Local time")`,
    '',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('Stopping...\n');
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
