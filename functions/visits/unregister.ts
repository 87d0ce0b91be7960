import { httpHandler } from '@svc/platform';
import { Accounts, callerId, unregister, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  unregister,
  async ({ principal }) => {
    await Accounts.unregister(callerId(principal));
    return { status: 204 };
  },
  { authenticate },
);
