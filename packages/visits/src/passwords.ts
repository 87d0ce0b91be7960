import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Passwords are stored only as `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the cost can be
 * raised later and old hashes still verify with the parameters they were made with; a login with a
 * hash weaker than the current cost rehashes it (`needsRehash`).
 */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** OWASP Password Storage Cheat Sheet's minimum for scrypt: N=2^17 (128 MiB), r=8, p=1. The prod cost. */
export const OWASP_SCRYPT_LOG2N = 17;
export const scryptCost = (log2N: number): ScryptCost => ({ N: 2 ** log2N, r: 8, p: 1 });
export const DEFAULT_COST = scryptCost(OWASP_SCRYPT_LOG2N);

const KEY_LENGTH = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, cost: ScryptCost, length: number) {
  const options: ScryptOptions = { ...cost, maxmem: 128 * cost.N * cost.r * 2 };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, length, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, cost, KEY_LENGTH);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    { N: Number(n), r: Number(r), p: Number(p) },
    expected.length,
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A stored hash made with less work than `cost` (any of N, r, p lower): rehash it at the next login. */
export function needsRehash(stored: string, cost: ScryptCost): boolean {
  const [scheme, n, r, p] = stored.split('$');
  if (scheme !== 'scrypt') return true;
  return Number(n) < cost.N || Number(r) < cost.r || Number(p) < cost.p;
}

const decoys = new Map<number, Promise<string>>();

/**
 * Spends the same time as a real check at the current cost, so an unknown email cannot be told apart by
 * response time.
 */
export async function verifyAgainstDecoy(password: string, cost: ScryptCost = DEFAULT_COST): Promise<false> {
  let decoy = decoys.get(cost.N);
  if (!decoy) {
    decoy = hashPassword(randomBytes(16).toString('hex'), cost);
    decoys.set(cost.N, decoy);
  }
  await verifyPassword(password, await decoy);
  return false;
}
