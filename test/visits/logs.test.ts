import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Passwords are never logged (issue 3). The suite logs nothing by default, so this file turns the
 * structured logs on (DEBUG) before anything imports the logger, and reads what the handlers write.
 */
let api: Awaited<ReturnType<typeof import('./support/handlers.js')['loadVisitsHandlers']>>['api'];
let stopSsm: () => Promise<void>;
const written: string[] = [];
const originals = { out: process.stdout.write, err: process.stderr.write };

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  // Kept, not echoed: the suite's output stays quiet.
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  const { loadVisitsHandlers } = await import('./support/handlers.js');
  const loaded = await loadVisitsHandlers();
  api = loaded.api;
  stopSsm = loaded.ssm.stop;
});
afterAll(async () => {
  process.stdout.write = originals.out;
  process.stderr.write = originals.err;
  await stopSsm();
});

describe('visits logs', () => {
  it('carry the request lines but never a password, right or wrong', async () => {
    const password = `pw-${randomUUID()}`;
    const wrong = `wrong-${randomUUID()}`;
    const email = `logs-${randomUUID()}@example.com`;
    const account = { email, password, first_name: 'Log', last_name: 'Reader' };
    expect((await api.register(account)).status).toBe(201);
    expect((await api.register(account)).status).toBe(409);
    expect((await api.register({ ...account, email: 'not-an-email' })).status).toBe(422);
    expect((await api.session({ email, password })).status).toBe(200);
    expect((await api.session({ email, password: wrong })).status).toBe(401);
    expect((await api.session({ email: `x-${email}`, password })).status).toBe(401);

    const logs = written.join('');
    // The capture works: every call above left its structured request line.
    expect(logs).toContain('"route":"VisitsRegister"');
    expect(logs).toContain('"route":"VisitsStartSession"');
    expect(logs.match(/"status":401/g)?.length).toBeGreaterThanOrEqual(2);
    expect(logs).not.toContain(password);
    expect(logs).not.toContain(wrong);
    expect(logs).not.toContain('scrypt$');
  });
});
