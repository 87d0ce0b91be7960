import * as v from 'valibot';

/**
 * Reads and validates configuration once (call it at module scope, i.e. at cold start).
 * A misconfigured function fails at init with every problem listed, never halfway through a request.
 */
export function loadConfig<S extends v.GenericSchema<Record<string, unknown>>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): v.InferOutput<S> {
  const result = v.safeParse(schema, env);
  if (result.success) return result.output;
  const problems = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`);
  throw new Error(`Invalid configuration:\n  ${problems.join('\n  ')}`);
}

/** Comma-separated env value → string list. */
export const csv = v.pipe(
  v.optional(v.string(), ''),
  v.transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
);

/** Positive integer from an env string. */
export const intFromEnv = (fallback: number) =>
  v.pipe(v.optional(v.string(), String(fallback)), v.transform(Number), v.integer(), v.minValue(0));
