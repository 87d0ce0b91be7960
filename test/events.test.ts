import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allFunctions } from '@svc/local/environment';
import { REPO_ROOT } from '@svc/local/functions';
import { invokeWithRunningRuntime, runningDev } from '@svc/local/invoke';
import { describe, expect, it } from 'vitest';
import { services } from '../infra/lib/services.js';
import { gatewayUrl } from './support/gateway.js';

/**
 * Every function has a sample event (events/<service>/<handler name>.json, used by `pnpm invoke` and
 * `sam local invoke`), and every sample goes through its real handler without a server error.
 */
const functions = allFunctions(services);
const eventFileOf = (handler: string) =>
  join(REPO_ROOT, handler.replace(/^functions\//, 'events/').replace(/\.ts$/, '.json'));

describe('sample events', () => {
  it.each(functions.map((fn) => [fn.entry.functionName, fn.entry.handler] as const))(
    '%s has events/ sample for %s',
    (_, handler) => {
      expect(existsSync(eventFileOf(handler)), eventFileOf(handler)).toBe(true);
    },
  );

  it('every sample event passes through its handler (`pnpm invoke`) without a 5xx or a crash', async () => {
    const dev = await runningDev(new URL(gatewayUrl()).port);
    expect(dev).toBeDefined();
    const outcomes: string[] = [];
    for (const fn of functions) {
      const event = JSON.parse(await readFile(eventFileOf(fn.entry.handler), 'utf8')) as unknown;
      const result = (await invokeWithRunningRuntime(dev!, fn, event, () => undefined)) as
        | { statusCode?: number; batchItemFailures?: unknown[] }
        | undefined;
      if (fn.kind === 'route') outcomes.push(`${fn.entry.functionName} ${result?.statusCode}`);
      else outcomes.push(`${fn.entry.functionName} ok`);
    }
    const serverErrors = outcomes.filter((o) => / 5\d\d$/.test(o) || / undefined$/.test(o));
    expect(serverErrors).toEqual([]);
  }, 120_000);
});
