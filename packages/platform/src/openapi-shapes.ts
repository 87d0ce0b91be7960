import * as v from 'valibot';

/** The SPEC §0 error envelope, as a schema for route response tables and the API document. */
export const ErrorBody = v.object({
  error: v.object({
    status: v.number(),
    message: v.string(),
    errors: v.optional(v.record(v.string(), v.array(v.string()))),
    request_id: v.string(),
  }),
});
