import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway.js';

// SPEC §0 through the local gateway, which answers unmatched requests like the $default route in AWS.
describe('unknown routes through the gateway', () => {
  it('answers a known path with another method 405, Allow listing its methods, in the envelope', async () => {
    const reply = await gateway('PATCH', `/api/visit/${randomUUID()}`, {
      headers: { 'x-request-id': 'e2e-405' },
    });
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe('DELETE, GET');
    expect(reply.body).toEqual({
      error: {
        status: 405,
        message: 'Method not allowed; this path takes DELETE, GET.',
        request_id: 'e2e-405',
      },
    });
  });

  it('answers an unknown path 404 in the envelope, never API Gateway’s own body', async () => {
    const reply = await gateway('GET', '/no/such/route');
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({ status: 404, message: 'Not found.' });
    expect(reply.headers.get('x-request-id')).toBe(reply.body.error.request_id);
  });

  it('serves the API document at /openapi.json, as the ApiDocumentUrl output does in AWS', async () => {
    const reply = await gateway('GET', '/openapi.json');
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body.paths)).toContain('/api/visit/{id}');
  });
});
