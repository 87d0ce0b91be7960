import { type Authenticator, intFromEnv, loadConfig, NotAuthenticated, type Principal } from '@svc/platform';
import * as v from 'valibot';
import { findAccount, type UserItem } from './accounts.js';
import { OWASP_SCRYPT_LOG2N, type ScryptCost, scryptCost } from './passwords.js';
import {
  type SessionTokens,
  sessionAuthenticator,
  sessionOf,
  sessionTokens,
  ssmTokenSecret,
  type TokenSecretSource,
  tokenAuthenticator,
} from './tokens.js';
import type { Caller } from './visits.js';

export const VisitsEnv = v.object({
  TABLE_NAME: v.pipe(v.string(), v.minLength(1)),
  STARTING_MINUTES: intFromEnv(120),
  /** scrypt cost as log2(N) (r=8, p=1): 17, OWASP's minimum, unless the stage sets less (local/tests: 14). */
  PASSWORD_SCRYPT_LOG2N: v.pipe(intFromEnv(OWASP_SCRYPT_LOG2N), v.minValue(10), v.maxValue(20)),
  /** Full SSM name of the HS256 secret (SecureString, created outside the stack). */
  PARAM_VISITS_TOKEN_SECRET: v.pipe(v.string(), v.minLength(1)),
});
export type VisitsConfig = v.InferOutput<typeof VisitsEnv>;

export interface VisitsRuntime {
  config: VisitsConfig;
  /** The stage's scrypt cost for new hashes (and the bar below which a login rehashes). */
  passwordCost: ScryptCost;
  tokens: SessionTokens;
  authenticate: Authenticator;
  /** Token only: for the routes that check the account along with their own read (see `tokenAuthenticator`). */
  authenticateToken: Authenticator;
}

export function createVisitsRuntime(config: VisitsConfig, secret?: TokenSecretSource): VisitsRuntime {
  const tokens = sessionTokens(secret ?? ssmTokenSecret(config.PARAM_VISITS_TOKEN_SECRET));
  return {
    config,
    passwordCost: scryptCost(config.PASSWORD_SCRYPT_LOG2N),
    tokens,
    authenticate: sessionAuthenticator(tokens, findAccount),
    authenticateToken: tokenAuthenticator(tokens),
  };
}

let runtime: VisitsRuntime | undefined;

/** Configuration and token service, built once per container (handlers call it at module scope). */
export function visitsRuntime(): VisitsRuntime {
  runtime ??= createVisitsRuntime(loadConfig(VisitsEnv));
  return runtime;
}

/** The authenticated caller's user id (protected routes always have a principal). */
export function callerId(principal: Principal | undefined): string {
  if (!principal) throw new NotAuthenticated();
  return principal.subject;
}

/** The caller with their token's session, so the route's own account read also refuses a logged-out token. */
export function callerSession(principal: Principal | undefined): Caller {
  return sessionOf(principal) ?? callerId(principal);
}

/** The caller's account as the authenticator read it while checking the token (no second read). */
export function callerAccount(principal: Principal | undefined): UserItem {
  const account = principal?.context?.account as UserItem | undefined;
  if (!account) throw new NotAuthenticated();
  return account;
}
