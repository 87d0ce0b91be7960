import { isThrottling, isWriteConflict } from './dynamo.js';
import { DomainError, type ErrorKind, type FieldErrors } from './errors.js';

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unsupported_media_type: 415,
  validation: 422,
  throttled: 429,
  unavailable: 503,
};

export interface ErrorEnvelope {
  error: { status: number; message: string; errors?: FieldErrors; request_id: string };
}

export interface MappedError {
  status: number;
  message: string;
  fields?: FieldErrors;
  retryAfterSeconds?: number;
}

/** The one place where errors become HTTP statuses. Anything unknown is a genuine 500. */
export function mapError(error: unknown): MappedError {
  if (error instanceof DomainError) {
    return {
      status: STATUS[error.kind],
      message: error.message,
      ...(error.fields ? { fields: error.fields } : {}),
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    };
  }
  const middy = middyHttpError(error);
  if (middy) return middy;
  // DynamoDB contention that reached the edge outside `retryContention` (a read, an idempotency
  // record, a single-item write) is still the caller's cue to retry, never a server fault.
  if (isWriteConflict(error)) {
    return { status: 409, message: 'Too many concurrent changes to the same data, retry later.' };
  }
  if (isThrottling(error)) {
    return { status: 503, message: 'The database is busy, retry later.', retryAfterSeconds: 1 };
  }
  // middy stops a handler just before the Lambda timeout (e.g. retries against a throttled table):
  // answered like API Gateway answers a timed-out function, 503, so the caller retries.
  if (isMiddyTimeout(error)) {
    return { status: 503, message: 'The request took too long, retry later.', retryAfterSeconds: 1 };
  }
  return { status: 500, message: 'Internal server error.' };
}

function isMiddyTimeout(error: unknown): boolean {
  const e = error as { name?: unknown; cause?: { package?: unknown } } | null;
  return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
}

/** @middy/http-json-body-parser throws http-errors style objects; SPEC §0 wants 400 for malformed JSON. */
function middyHttpError(error: unknown): MappedError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { statusCode?: unknown; expose?: unknown; cause?: { package?: unknown } };
  if (typeof e.statusCode !== 'number' || e.cause?.package !== '@middy/http-json-body-parser')
    return undefined;
  if (e.statusCode === 415) return { status: 415, message: 'Content-Type must be application/json.' };
  return { status: 400, message: 'Request body is not valid JSON.' };
}

export function envelope(mapped: MappedError, requestId: string): ErrorEnvelope {
  return {
    error: {
      status: mapped.status,
      message: mapped.message,
      ...(mapped.fields ? { errors: mapped.fields } : {}),
      request_id: requestId,
    },
  };
}
