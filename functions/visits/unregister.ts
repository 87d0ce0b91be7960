import { httpHandler } from '@svc/platform';
import { Accounts, callerAccount, callerId, unregister, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  unregister,
  async ({ principal }) => {
    await Accounts.unregister(callerId(principal), new Date(), callerAccount(principal));
    return { status: 204 };
  },
  { authenticate },
);
