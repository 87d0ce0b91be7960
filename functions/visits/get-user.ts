import { httpHandler } from '@svc/platform';
import { Accounts, callerId, getUser, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  getUser,
  async ({ principal }) => ({ status: 200, body: { data: await Accounts.getUser(callerId(principal)) } }),
  { authenticate },
);
