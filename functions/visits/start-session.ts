import { httpHandler } from '@svc/platform';
import { Accounts, startSession, visitsRuntime } from '@svc/visits';

const { tokens } = visitsRuntime();

export const handler = httpHandler(startSession, async ({ body }) => ({
  status: 200,
  body: { data: await Accounts.startSession(body, { tokens }) },
}));
