import { describe, expect, it } from 'vitest';
import { Conflict, NotFound, ServiceUnavailable, ValidationFailed } from './errors.js';
import { envelope, mapError } from './http-errors.js';

describe('mapError', () => {
  it.each([
    [new NotFound(), 404],
    [new Conflict(), 409],
    [new ValidationFailed({ minutes: ['must be greater than 0'] }), 422],
    [new ServiceUnavailable(), 503],
  ])('maps %s', (error, status) => {
    expect(mapError(error).status).toBe(status);
  });

  it('answers unknown errors with a generic 500 that leaks nothing', () => {
    const mapped = mapError(
      new Error('connect ECONNREFUSED 10.0.0.1:5432 at Socket.foo (/var/task/index.mjs:1:2)'),
    );
    expect(mapped).toEqual({ status: 500, message: 'Internal server error.' });
  });

  it('turns the JSON parser errors into 400 and 415', () => {
    const parser = (statusCode: number) =>
      Object.assign(new Error('x'), { statusCode, cause: { package: '@middy/http-json-body-parser' } });
    expect(mapError(parser(422)).status).toBe(400);
    expect(mapError(parser(415)).status).toBe(415);
  });

  it('builds the SPEC §0 envelope, with errors only when fields are at fault', () => {
    expect(envelope(mapError(new ValidationFailed({ minutes: ['must be greater than 0'] })), 'r1')).toEqual({
      error: {
        status: 422,
        message: 'Validation failed.',
        errors: { minutes: ['must be greater than 0'] },
        request_id: 'r1',
      },
    });
    expect(envelope(mapError(new NotFound()), 'r2')).toEqual({
      error: { status: 404, message: 'Not found.', request_id: 'r2' },
    });
  });
});
