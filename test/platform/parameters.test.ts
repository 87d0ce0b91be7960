import { startLocalSsm } from '@svc/local/ssm-server';
import { ServiceUnavailable } from '@svc/platform';
import { readOptionalParameter, readParameter } from '@svc/platform/parameters';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let ssm: Awaited<ReturnType<typeof startLocalSsm>>;

beforeAll(async () => {
  ssm = await startLocalSsm({ '/svc/test/present': 'value' });
  process.env.AWS_ENDPOINT_URL_SSM = ssm.endpoint;
});
afterAll(() => ssm.stop());

async function failureOf(read: Promise<unknown>): Promise<Error> {
  const error = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceUnavailable);
  return error as Error;
}

describe('SSM parameters', () => {
  it('answers with a 503 that names no parameter, keeping the name in the cause for the logs', async () => {
    const missing = await failureOf(readParameter('/svc/test/secret-that-is-not-there'));
    expect(missing.message).toBe('A required setting could not be read; retry later.');
    expect((missing.cause as Error).message).toContain('/svc/test/secret-that-is-not-there');

    ssm.failing = true;
    try {
      // One read at a time: both started at once, the second could reject (after its retries) before the
      // loop attached a handler to it, an unhandled rejection.
      for (const read of [
        () => readParameter('/svc/test/other'),
        () => readOptionalParameter('/svc/test/other'),
      ]) {
        const error = await failureOf(read());
        expect(error.message).not.toMatch(/\/svc\//);
        expect((error.cause as Error).message).toContain('/svc/test/other');
      }
    } finally {
      ssm.failing = false;
    }
    expect(await readParameter('/svc/test/present')).toBe('value');
    expect(await readOptionalParameter('/svc/test/absent')).toBeUndefined();
  });
});
