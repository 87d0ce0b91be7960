import { httpHandler } from '@svc/platform';
import { Accounts, startSession, visitsRuntime } from '@svc/visits';

const { tokens, passwordCost } = visitsRuntime();

export const handler = httpHandler(startSession, async ({ body, log }) => ({
  status: 200,
  body: {
    data: await Accounts.startSession(body, {
      tokens,
      passwordCost,
      onRehashError: (error) => log.warn('could not rehash a password at login', { error: error as Error }),
    }),
  },
}));
