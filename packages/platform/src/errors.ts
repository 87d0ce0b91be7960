/**
 * Domain errors. Services throw these; the HTTP layer maps them to status codes in one place
 * (`statusOf` in http-errors.ts). Messages are safe to show to callers.
 */
export type FieldErrors = Record<string, string[]>;

export type ErrorKind =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unsupported_media_type'
  | 'validation'
  | 'throttled'
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fields?: FieldErrors,
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequest extends DomainError {
  constructor(message = 'Bad request.', fields?: FieldErrors) {
    super('bad_request', message, fields);
  }
}
export class NotAuthenticated extends DomainError {
  constructor(message = 'Not authenticated') {
    super('unauthenticated', message);
  }
}
export class Forbidden extends DomainError {
  constructor(message = 'Forbidden.') {
    super('forbidden', message);
  }
}
export class NotFound extends DomainError {
  constructor(message = 'Not found.') {
    super('not_found', message);
  }
}
export class Conflict extends DomainError {
  constructor(message = 'Conflict with the current state.', fields?: FieldErrors) {
    super('conflict', message, fields);
  }
}
export class ValidationFailed extends DomainError {
  constructor(fields: FieldErrors, message = 'Validation failed.') {
    super('validation', message, fields);
  }
}
export class UnsupportedMediaType extends DomainError {
  constructor(message = 'Content-Type must be application/json.') {
    super('unsupported_media_type', message);
  }
}
export class Throttled extends DomainError {
  constructor(message = 'Too many requests.', retryAfterSeconds = 1) {
    super('throttled', message, undefined, retryAfterSeconds);
  }
}
export class ServiceUnavailable extends DomainError {
  constructor(
    message = 'Service temporarily unavailable, retry later.',
    retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super('unavailable', message, undefined, retryAfterSeconds, options);
  }
}
