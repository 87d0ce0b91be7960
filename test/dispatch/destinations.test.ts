import { describe, expect, it } from 'vitest';
import { gateway, localToken } from '../support/gateway.js';
import { uniqueNumber } from './support.js';

/** SPEC §5 destinations through the shared local gateway (the local preset enables US and CA). */
describe('dispatch destinations through the local gateway', () => {
  it('refuses premium-rate numbers and countries the stage does not enable, sending nothing', async () => {
    const token = await localToken('messages:send messages:read', 'e2e-destinations');
    const send = (to_number: string) =>
      gateway('POST', '/messages', { token, body: { to_number, message: 'claim your prize' } });

    const premium = await send('+1 900 555 0199');
    expect(premium.status).toBe(422);
    expect(premium.body.error).toMatchObject({
      status: 422,
      message: 'Validation failed.',
      errors: { to_number: ['premium-rate numbers are not accepted'] },
    });
    const abroad = await send('+44 909 879 0000');
    expect(abroad.status).toBe(422);
    expect(abroad.body.error.errors).toEqual({ to_number: ['destination country not enabled'] });

    for (const number of ['+19005550199', '+449098790000']) {
      const listed = await gateway('GET', `/messages?to_number=${encodeURIComponent(number)}`, { token });
      expect(listed.status).toBe(200);
      expect(listed.body.data).toEqual([]);
    }
    const outbox = await gateway('GET', '/__local/outbox');
    expect(
      (outbox.body.sms as { to_number: string }[]).filter((c) => /9005550199|9098790000/.test(c.to_number)),
    ).toEqual([]);

    expect((await send(uniqueNumber())).status).toBe(202);
  });
});
