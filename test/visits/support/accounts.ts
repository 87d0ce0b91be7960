import { randomUUID } from 'node:crypto';
import { Accounts, sessionTokens } from '@svc/visits';
import { scryptCost } from '@svc/visits/passwords';
import { decodeJwt } from 'jose';

export const TEST_SECRET = 'visits-test-secret-0123456789-abcdefghijklmnop';
export const tokens = sessionTokens(async () => TEST_SECRET);
/** The local preset's cost (tests register many users; prod hashes at 2^17). */
export const passwordCost = scryptCost(14);

export const futureDate = (daysAhead = 30) =>
  new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 10);

export const uniqueEmail = (prefix = 'user') => `${prefix}-${randomUUID()}@example.com`;

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** A fresh account through the real domain operation (scrypt, email claim, transaction). */
export async function newUser(startingMinutes = 120, email = uniqueEmail()): Promise<TestUser> {
  const { access_token } = await Accounts.register(
    { email, password: 'correct horse battery', first_name: 'Test', last_name: 'User' },
    { tokens, startingMinutes, passwordCost },
  );
  return { id: decodeJwt(access_token).sub as string, email, token: access_token };
}

export const visitInput = (minutes: number, date = futureDate()) => ({
  date,
  minutes,
  tasks: [{ name: 'groceries', description: 'weekly shop' }],
});
