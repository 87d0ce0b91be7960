// Logout's one UpdateItem against DynamoDB Local (SPEC §1 logout): the token joins the account's `revoked`
// map, expired entries leave it in the same write, an account at MAX_REVOKED_TOKENS revokes every token at
// once instead (item size), and a deleted account is no error.
import { randomUUID } from 'node:crypto';
import { Accounts } from '@svc/visits';
import { visitsDb } from '@svc/visits/entities';
import { describe, expect, it } from 'vitest';
import { newUser } from './support/accounts.js';

const NOW = new Date('2026-12-06T09:00:00Z');
const nowSeconds = NOW.getTime() / 1000;

const account = async (userId: string) => {
  const found = await Accounts.findAccount(userId);
  if (!found) throw new Error('no account');
  return found;
};
const session = (userId: string) => ({
  userId,
  tokenId: randomUUID(),
  issuedAt: nowSeconds - 60,
  expiresAt: nowSeconds + 3600,
});
const setRevoked = (userId: string, revoked: Record<string, number>) =>
  visitsDb().entities.user.patch({ userId }).set({ revoked }).go();

describe('endSession', () => {
  it("creates the map on an account's first logout, then adds to it", async () => {
    const user = await newUser();
    const first = session(user.id);
    await Accounts.endSession(await account(user.id), first, NOW);
    const second = session(user.id);
    await Accounts.endSession(await account(user.id), second, NOW);
    expect((await account(user.id)).revoked).toEqual({
      [first.tokenId]: first.expiresAt,
      [second.tokenId]: second.expiresAt,
    });
  });

  it('drops the entries past their expiry in the same write', async () => {
    const user = await newUser();
    await setRevoked(user.id, { old1: nowSeconds - 10, old2: nowSeconds - 1, live: nowSeconds + 100 });
    const s = session(user.id);
    await Accounts.endSession(await account(user.id), s, NOW);
    expect((await account(user.id)).revoked).toEqual({ live: nowSeconds + 100, [s.tokenId]: s.expiresAt });
  });

  it('revokes every token at once when the map is full', async () => {
    const user = await newUser();
    const full = Object.fromEntries(
      Array.from({ length: Accounts.MAX_REVOKED_TOKENS }, (_, i) => [`t${i}`, nowSeconds + 100]),
    );
    await setRevoked(user.id, full);
    await Accounts.endSession(await account(user.id), session(user.id), NOW);
    const after = await account(user.id);
    expect(after.revoked).toEqual({});
    expect(after.tokensNotBefore).toBe(nowSeconds);
  });

  it('is no error when the account was deleted meanwhile, and writes nothing back', async () => {
    const user = await newUser();
    const stale = await account(user.id);
    await visitsDb().entities.user.delete({ userId: user.id }).go();
    await expect(Accounts.endSession(stale, session(user.id), NOW)).resolves.toBeUndefined();
    expect(await Accounts.findAccount(user.id)).toBeNull();
  });
});
