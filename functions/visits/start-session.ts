import { httpHandler } from '@svc/platform';
import { Accounts, startSession, visitsRuntime } from '@svc/visits';

const { tokens } = visitsRuntime();

export const handler = httpHandler(startSession, async ({ body, event, limits }) => ({
  status: 200,
  // A token is a credential: no cache (browser, proxy) may keep it.
  headers: { 'cache-control': 'no-store' },
  body: {
    data: await Accounts.startSession(body, {
      tokens,
      limits: { limiter: limits, sourceIp: event.requestContext.http.sourceIp },
    }),
  },
}));
