import { httpHandler } from '@svc/platform';
import { Accounts, register, visitsRuntime } from '@svc/visits';

const { config, tokens, passwordCost } = visitsRuntime();

export const handler = httpHandler(register, async ({ body }) => ({
  status: 201,
  // A token is a credential: no cache (browser, proxy) may keep it.
  headers: { 'cache-control': 'no-store' },
  body: {
    data: await Accounts.register(body, {
      tokens,
      startingMinutes: config.STARTING_MINUTES,
      passwordCost,
    }),
  },
}));
