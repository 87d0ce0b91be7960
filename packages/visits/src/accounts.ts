import { randomUUID } from 'node:crypto';
import {
  Conflict,
  isConditionFailure,
  limitClientDigest,
  NotAuthenticated,
  type RouteLimiter,
  retryContention,
  ServiceUnavailable,
  transactionCodes,
  updateWithExpression,
} from '@svc/platform';
import { visitsDb } from './entities.js';
import {
  hashPassword,
  needsRehash,
  type ScryptCost,
  verifyAgainstDecoy,
  verifyPassword,
} from './passwords.js';
import { emailKey } from './rules.js';
import type { RegistrationInput, SessionInput, Token, User } from './schemas.js';
import type { RevocationState, Session, SessionTokens } from './tokens.js';
import { CONTENTION, releaseReservation, type VisitItem } from './visits.js';

export type UserItem = {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  minutes: number;
  reserved: number;
  available: number;
} & RevocationState;

export const toUser = (u: UserItem): User => ({
  id: u.userId,
  email: u.email,
  first_name: u.firstName,
  last_name: u.lastName,
  minutes: u.minutes,
  reserved_minutes: u.reserved,
  available_minutes: u.available,
});

const INVALID_CREDENTIALS = 'Invalid email or password.';

/**
 * Creates the account and its email claim in one transaction: the claim is a conditional put on the
 * lower-cased address, so two registrations of `A@x` and `a@x` cannot both succeed, however they race.
 */
export async function register(
  input: RegistrationInput,
  deps: { tokens: SessionTokens; startingMinutes: number; passwordCost: ScryptCost },
  now = new Date(),
): Promise<Token> {
  const userId = randomUUID();
  const passwordHash = await hashPassword(input.password, deps.passwordCost);
  const db = visitsDb();
  await retryContention(async () => {
    const outcome = await db.transaction
      .write(({ email, user }) => [
        email.create({ emailKey: emailKey(input.email), userId }).commit(),
        user
          .create({
            userId,
            email: input.email,
            firstName: input.first_name,
            lastName: input.last_name,
            passwordHash,
            minutes: deps.startingMinutes,
            reserved: 0,
            available: deps.startingMinutes,
            createdAt: now.toISOString(),
          })
          .commit(),
      ])
      .go();
    const codes = transactionCodes(outcome);
    if (!codes) return;
    if (codes[0] === 'ConditionalCheckFailed') {
      throw new Conflict('This email is already registered.', { email: ['has already been taken'] });
    }
    throw new Error(`unexpected registration cancellation: ${codes.join(',')}`);
  }, CONTENTION);
  return deps.tokens.issue(userId, now);
}

/** The stage limits a login counts against (declared on the route, SPEC §1). */
export const LOGIN_LIMITS = { perEmail: 'loginFailuresPerEmail', perIp: 'loginFailuresPerIp' } as const;

export interface LoginDeps {
  tokens: SessionTokens;
  passwordCost: ScryptCost;
  onRehashError?: (error: unknown) => void;
  /** The route's limiter (its declared limits) and the source IP it counts per; the handler always passes them. */
  limits?: { limiter: Pick<RouteLimiter, 'takeAll' | 'reset' | 'refund'>; sourceIp: string };
}

/**
 * Wrong email and wrong password are answered alike, in about the same time. A right password whose stored
 * hash is weaker than the stage's cost is rehashed (migration to a raised cost happens at each user's next
 * login; a failed rehash is only logged, the login still succeeds).
 *
 * Failed-login limits (SPEC §1): every attempt is counted as a failure BEFORE the password is checked
 * (per source IP, then per email — an email that exists or not, alike), and a right password clears the
 * email's count and gives the IP its one back. So however many attempts race, no more than the limit's
 * passwords are ever checked per window, and a locked email is 429 even with the right password.
 * Both counters are read first in one request (`takeAll`): an attempt for a locked email or from a locked
 * IP is refused after that one small read, with no write (SPEC §0), and so does not count against the IP.
 */
export async function startSession(input: SessionInput, deps: LoginDeps): Promise<Token> {
  const emailClient = limitClientDigest(emailKey(input.email));
  const limits = deps.limits;
  if (limits) {
    await limits.limiter.takeAll([
      { setting: LOGIN_LIMITS.perIp, client: limits.sourceIp },
      { setting: LOGIN_LIMITS.perEmail, client: emailClient },
    ]);
  }
  const db = visitsDb();
  const { data: claim } = await db.entities.email
    .get({ emailKey: emailKey(input.email) })
    .go({ consistent: true });
  const { data: user } = claim
    ? await db.entities.user.get({ userId: claim.userId }).go({ consistent: true })
    : { data: null };
  const valid = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyAgainstDecoy(input.password, deps.passwordCost);
  if (!user || !valid) throw new NotAuthenticated(INVALID_CREDENTIALS);
  if (needsRehash(user.passwordHash, deps.passwordCost)) {
    await rehash(user.userId, user.passwordHash, input.password, deps.passwordCost).catch((error: unknown) =>
      deps.onRehashError?.(error),
    );
  }
  if (limits) {
    await Promise.all([
      limits.limiter.reset(LOGIN_LIMITS.perEmail, emailClient),
      limits.limiter.refund(LOGIN_LIMITS.perIp, limits.sourceIp),
    ]);
  }
  return deps.tokens.issue(user.userId);
}

/** Replaces a weak hash, unless the password changed meanwhile (the condition keeps the newer one). */
async function rehash(userId: string, old: string, password: string, cost: ScryptCost): Promise<void> {
  const passwordHash = await hashPassword(password, cost);
  await visitsDb()
    .entities.user.patch({ userId })
    .set({ passwordHash })
    .where((a, op) => op.eq(a.passwordHash, old))
    .go()
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

/** Above this many live revocations, a logout revokes every token of the account instead (item size). */
export const MAX_REVOKED_TOKENS = 500;

/**
 * Logout: revokes the token it was called with (its jti joins the account's `revoked` map until the token
 * would have expired anyway), leaving the account's other tokens valid. `account` is what the authenticator
 * just read: entries past their expiry are dropped in the same write. One UpdateItem.
 */
export async function endSession(account: UserItem, session: Session, now = new Date()): Promise<void> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const live = Object.entries(account.revoked ?? {}).filter(([, exp]) => exp > nowSeconds);
  const expired = Object.keys(account.revoked ?? {}).filter((jti) => !live.some(([l]) => l === jti));
  const key = visitsDb().entities.user.get({ userId: account.userId }).params().Key as Record<string, string>;
  const write = (update: string, condition: string, names: Record<string, string>, values: object) =>
    updateWithExpression({ key, update, condition, names, values: values as Record<string, unknown> });
  const ignoreGone = (error: unknown) => {
    // The account was deleted meanwhile: its tokens are dead anyway.
    if (!isConditionFailure(error)) throw error;
  };

  if (live.length >= MAX_REVOKED_TOKENS) {
    await write(
      'SET tokensNotBefore = :now, revoked = :none',
      'attribute_exists(pk)',
      {},
      { ':now': nowSeconds, ':none': {} },
    ).catch(ignoreGone);
    return;
  }
  const names: Record<string, string> = { '#jti': session.tokenId };
  expired.forEach((jti, i) => {
    names[`#x${i}`] = jti;
  });
  const removals = expired.map((_, i) => `revoked.#x${i}`);
  try {
    await write(
      `SET revoked.#jti = :exp${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
      'attribute_exists(pk) AND attribute_type(revoked, :map)',
      names,
      { ':exp': session.expiresAt, ':map': 'M' },
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // No map yet (the account's first logout): create it with this token.
    await write(
      'SET revoked = :first',
      'attribute_exists(pk) AND attribute_not_exists(revoked)',
      {},
      { ':first': { [session.tokenId]: session.expiresAt } },
    ).catch(async (second: unknown) => {
      if (!isConditionFailure(second)) throw second;
      // A concurrent logout created the map first: add to it.
      await write(
        'SET revoked.#jti = :exp',
        'attribute_exists(pk)',
        { '#jti': session.tokenId },
        { ':exp': session.expiresAt },
      ).catch(ignoreGone);
    });
  }
}

export async function getUser(userId: string): Promise<User> {
  const { data } = await visitsDb().entities.user.get({ userId }).go({ consistent: true });
  if (!data) throw new NotAuthenticated();
  return toUser(data);
}

/**
 * The account behind a session token, read in full (strongly consistent, so a deleted account is gone at
 * once). The authenticator keeps it on the principal, so a route that needs the account does not read it
 * again; a projection would not make the read cheaper (a GetItem is billed by the item's size).
 */
export async function findAccount(userId: string): Promise<UserItem | null> {
  const { data } = await visitsDb().entities.user.get({ userId }).go({ consistent: true });
  return data;
}

export async function accountExists(userId: string): Promise<boolean> {
  const { data } = await visitsDb()
    .entities.user.get({ userId })
    .go({ consistent: true, attributes: ['userId'] });
  return data !== null;
}

const DELETE_ROUNDS = 6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deletes an account: marks it closing (no new reservations), cancels its still-requested visits
 * (each one releases its reservation in the same transaction), then removes the user and its email
 * claim in one transaction that requires `reserved = 0`. A requested visit always holds its
 * reservation, so the last step cannot succeed while any requested visit exists — not even one the
 * index has not caught up with yet, or one a pal is completing right now. Completed visits and
 * transactions stay: they are the other party's history too.
 */
export async function unregister(
  userId: string,
  now = new Date(),
  seen?: Pick<UserItem, 'email' | 'reserved'>,
): Promise<void> {
  const db = visitsDb();
  const remove = (email: string) =>
    retryContention(async () => {
      const outcome = await db.transaction
        .write(({ user, email: claim }) => [
          user
            .remove({ userId })
            .where(({ reserved }, { eq }) => eq(reserved, 0))
            .commit(),
          claim
            .delete({ emailKey: emailKey(email) })
            .where((attr, { eq }) => eq(attr.userId, userId))
            .commit(),
        ])
        .go();
      const codes = transactionCodes(outcome);
      if (!codes) return true;
      // A reservation is still held, or a concurrent delete got there first.
      if (codes[0] === 'ConditionalCheckFailed') return !(await accountExists(userId));
      throw new Error(`unexpected unregistration cancellation: ${codes.join(',')}`);
    }, CONTENTION);
  // An account that held no reservation when the caller's token was checked has no requested visit to
  // cancel: try the final step at once. If a visit was requested since, `reserved = 0` fails and the
  // full sequence below runs.
  if (seen?.reserved === 0 && (await remove(seen.email))) return;

  const marked = await retryContention(
    () =>
      db.entities.user
        .patch({ userId })
        .set({ closing: true })
        .go({ response: 'all_new' })
        .then((r) => r.data)
        .catch((error: unknown) => {
          if (isConditionFailure(error)) return undefined;
          throw error;
        }),
    CONTENTION,
  );
  if (!marked) return; // already gone: a repeated delete is a no-op

  for (let round = 0; round < DELETE_ROUNDS; round++) {
    let cursor: string | null = null;
    do {
      const page: { data: VisitItem[]; cursor: string | null } = await db.entities.visit.query
        .byMemberStatus({ memberId: userId, status: 'requested' })
        .go({ cursor });
      // A visit completed meanwhile is simply skipped: its reservation was settled by the completion.
      for (const visit of page.data) await releaseReservation(visit, now);
      cursor = page.cursor;
    } while (cursor);

    if (await remove(marked.email)) return;
    // The member index is eventually consistent: give it a moment to show the visit we missed.
    await sleep(50 * 2 ** round);
  }
  throw new ServiceUnavailable('The account could not be deleted yet, retry later.', 2);
}
