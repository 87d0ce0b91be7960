import type { RunningSsm } from '@svc/local/ssm-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail } from './support/accounts.js';
import { forged, loadVisitsHandlers } from './support/handlers.js';

/** The signing secret really comes from SSM through the handlers' adapter (a fresh worker: no cache yet). */
let loaded: Awaited<ReturnType<typeof loadVisitsHandlers>>;
let ssm: RunningSsm;

beforeAll(async () => {
  loaded = await loadVisitsHandlers();
  ssm = loaded.ssm;
});
afterAll(() => ssm.stop());

const body = () => ({
  email: uniqueEmail(),
  password: 'correct horse battery',
  first_name: 'A',
  last_name: 'B',
});

describe('token secret from SSM', () => {
  it('answers 503 with Retry-After, not 401 or 500, while the secret cannot be read', async () => {
    ssm.failing = true;
    try {
      const registration = await loaded.api.register(body());
      expect(registration.status).toBe(503);
      expect(registration.headers['retry-after']).toMatch(/^\d+$/);
      const me = await loaded.api.me(`Bearer ${await forged.signed('00000000-0000-4000-8000-000000000000')}`);
      expect(me.status).toBe(503);
      expect(JSON.stringify(me.body)).not.toMatch(/visits-token-secret|ssm/i);
    } finally {
      ssm.failing = false;
    }
  });

  it('signs and verifies with the secret SSM holds', async () => {
    const before = ssm.calls;
    const res = await loaded.api.register(body());
    expect(res.status).toBe(201);
    expect(ssm.calls).toBeGreaterThan(before);
    expect((await loaded.api.me(res.body.data.access_token)).status).toBe(200);
  });
});
