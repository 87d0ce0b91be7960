import { httpHandler } from '@svc/platform';
import { Accounts, callerAccount, getUser, visitsRuntime } from '@svc/visits';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  getUser,
  // The authenticator has just read the account (strongly consistent): answer from that read.
  async ({ principal }) => ({ status: 200, body: { data: Accounts.toUser(callerAccount(principal)) } }),
  { authenticate },
);
