import { httpHandler } from '@svc/platform';
import { Accounts, startSession, visitsRuntime } from '@svc/visits';

const { tokens, passwordCost } = visitsRuntime();

export const handler = httpHandler(startSession, async ({ body, event, log, limits }) => ({
  status: 200,
  // A token is a credential: no cache (browser, proxy) may keep it.
  headers: { 'cache-control': 'no-store' },
  body: {
    data: await Accounts.startSession(body, {
      tokens,
      passwordCost,
      onRehashError: (error) => log.warn('could not rehash a password at login', { error: error as Error }),
      limits: { limiter: limits, sourceIp: event.requestContext.http.sourceIp },
    }),
  },
}));
