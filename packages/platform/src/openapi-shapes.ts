import * as v from 'valibot';

/**
 * Names for schemas in the API document: a named schema goes to `components.schemas` once and every
 * use refers to it by `$ref`, so a generated client gets a named type. Unnamed bodies are named after
 * their operation (`TasksGetTask200`).
 */
const names = new WeakMap<object, string>();

export function named<S extends v.GenericSchema>(name: string, schema: S): S {
  names.set(schema, name);
  return schema;
}

export const schemaName = (schema: object): string | undefined => names.get(schema);

/** The SPEC §0 error envelope, as a schema for route response tables and the API document. */
export const ErrorBody = named(
  'Error',
  v.object({
    error: v.object({
      status: v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599)),
      message: v.string(),
      errors: v.optional(v.record(v.string(), v.array(v.string()))),
      request_id: v.string(),
    }),
  }),
);
