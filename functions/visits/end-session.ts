import { httpHandler, NotAuthenticated } from '@svc/platform';
import { Accounts, callerAccount, endSession, sessionOf, visitsRuntime } from '@svc/visits';

// The full session check: it reads the account (with its revoked tokens) that the logout then updates.
const { authenticate } = visitsRuntime();

export const handler = httpHandler(
  endSession,
  async ({ principal }) => {
    const session = sessionOf(principal);
    if (!session) throw new NotAuthenticated();
    await Accounts.endSession(callerAccount(principal), session);
    return { status: 204 };
  },
  { authenticate },
);
