import { randomUUID } from 'node:crypto';
import {
  Conflict,
  isConditionFailure,
  NotAuthenticated,
  retryContention,
  ServiceUnavailable,
  transactionCodes,
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
import type { SessionTokens } from './tokens.js';
import { CONTENTION, releaseReservation, type VisitItem } from './visits.js';

export type UserItem = {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  minutes: number;
  reserved: number;
  available: number;
};

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

/**
 * Wrong email and wrong password are answered alike, in about the same time. A right password whose stored
 * hash is weaker than the stage's cost is rehashed (migration to a raised cost happens at each user's next
 * login; a failed rehash is only logged, the login still succeeds).
 */
export async function startSession(
  input: SessionInput,
  deps: { tokens: SessionTokens; passwordCost: ScryptCost; onRehashError?: (error: unknown) => void },
): Promise<Token> {
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
