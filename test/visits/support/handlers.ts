import { type RunningSsm, startLocalSsm } from '@svc/local/ssm-server';
import { SignJWT, UnsecuredJWT } from 'jose';
import { apiEvent, invoke } from '../../support/api-event.js';
import { testRateLimits } from '../../support/limits.js';
import { TEST_SECRET } from './accounts.js';

export const SECRET_PARAMETER = '/svc/test/visits-token-secret';

/**
 * Imports the visits handlers as Lambda would load them (config read at import), after pointing the
 * SSM adapter at a fake that holds the test secret.
 */
export async function loadVisitsHandlers() {
  const ssm: RunningSsm = await startLocalSsm({ [SECRET_PARAMETER]: TEST_SECRET });
  Object.assign(process.env, {
    PARAM_VISITS_TOKEN_SECRET: SECRET_PARAMETER,
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    STARTING_MINUTES: '120',
    // The local preset's cost: tests register many users (prod hashes at 2^17, see README Decisions).
    PASSWORD_SCRYPT_LOG2N: '14',
    RATE_LIMITS: testRateLimits('visits'),
  });
  const [
    register,
    startSession,
    unregister,
    getUser,
    requestVisit,
    listVisits,
    getVisit,
    cancelVisit,
    completeVisit,
    recordTransaction,
    listTransactions,
  ] = await Promise.all([
    import('../../../functions/visits/register.js'),
    import('../../../functions/visits/start-session.js'),
    import('../../../functions/visits/unregister.js'),
    import('../../../functions/visits/get-user.js'),
    import('../../../functions/visits/request-visit.js'),
    import('../../../functions/visits/list-visits.js'),
    import('../../../functions/visits/get-visit.js'),
    import('../../../functions/visits/cancel-visit.js'),
    import('../../../functions/visits/complete-visit.js'),
    import('../../../functions/visits/record-transaction.js'),
    import('../../../functions/visits/list-transactions.js'),
  ]);
  const auth = (token: string | undefined): Record<string, string> =>
    token === undefined ? {} : { authorization: token };
  const call = invoke;
  const api = {
    register: (body: unknown, headers: Record<string, string> = {}) =>
      call(register.handler, apiEvent({ method: 'POST', route: '/api/auth/registration', body, headers })),
    session: (body: unknown, headers: Record<string, string> = {}) =>
      call(startSession.handler, apiEvent({ method: 'POST', route: '/api/auth/session', body, headers })),
    unregister: (token?: string) =>
      call(
        unregister.handler,
        apiEvent({ method: 'DELETE', route: '/api/auth/registration', headers: auth(token) }),
      ),
    me: (token?: string) =>
      call(getUser.handler, apiEvent({ method: 'GET', route: '/api/user', headers: auth(token) })),
    request: (token: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
      call(
        requestVisit.handler,
        apiEvent({ method: 'POST', route: '/api/visit', body, headers: { ...auth(token), ...headers } }),
      ),
    list: (token: string | undefined, query?: Record<string, string>) =>
      call(
        listVisits.handler,
        apiEvent({ method: 'GET', route: '/api/visit', headers: auth(token), ...(query ? { query } : {}) }),
      ),
    get: (token: string | undefined, id: string) =>
      call(
        getVisit.handler,
        apiEvent({ method: 'GET', route: '/api/visit/{id}', pathParameters: { id }, headers: auth(token) }),
      ),
    cancel: (token: string | undefined, id: string) =>
      call(
        cancelVisit.handler,
        apiEvent({
          method: 'DELETE',
          route: '/api/visit/{id}',
          pathParameters: { id },
          headers: auth(token),
        }),
      ),
    complete: (token: string | undefined, id: string) =>
      call(
        completeVisit.handler,
        apiEvent({
          method: 'PUT',
          route: '/api/visit/{id}/complete',
          pathParameters: { id },
          headers: auth(token),
        }),
      ),
    transaction: (token: string | undefined, id: string, headers: Record<string, string> = {}) =>
      call(
        recordTransaction.handler,
        apiEvent({
          method: 'POST',
          route: '/api/visit/{id}/transaction',
          pathParameters: { id },
          headers: { ...auth(token), ...headers },
        }),
      ),
    transactions: (token: string | undefined, query?: Record<string, string>) =>
      call(
        listTransactions.handler,
        apiEvent({
          method: 'GET',
          route: '/api/transactions',
          headers: auth(token),
          ...(query ? { query } : {}),
        }),
      ),
  };
  return { ssm, api };
}

/** Tokens a client could forge or replay, for the 401 matrix. */
export const forged = {
  signed: (sub: string, options: { secret?: string; expiresIn?: number; issuer?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuer(options.issuer ?? 'svc-visits')
      .setAudience('svc-visits')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 100_000)
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600))
      .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET)),
  unsigned: (sub: string) =>
    new UnsecuredJWT({})
      .setSubject(sub)
      .setIssuer('svc-visits')
      .setAudience('svc-visits')
      .setExpirationTime('1h')
      .encode(),
};
