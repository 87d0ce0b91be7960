import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COST,
  hashPassword,
  needsRehash,
  scryptCost,
  verifyAgainstDecoy,
  verifyPassword,
} from './passwords.js';

// Unit tests hash at 2^12 to stay fast; the default (prod) cost is checked once below.
const fast = scryptCost(12);

describe('passwords', () => {
  it('hashes at OWASP’s scrypt minimum (N=2^17, r=8, p=1) unless told otherwise', async () => {
    expect(DEFAULT_COST).toEqual({ N: 131_072, r: 8, p: 1 });
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
  });

  it('stores a salted scrypt hash with its parameters, never the password', async () => {
    const hash = await hashPassword('correct horse', fast);
    expect(hash).toMatch(/^scrypt\$4096\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(hash).not.toContain('correct horse');
  });

  it('uses a new salt each time', async () => {
    expect(await hashPassword('same password', fast)).not.toBe(await hashPassword('same password', fast));
  });

  it('verifies the right password and refuses others', async () => {
    const hash = await hashPassword('correct horse', fast);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('refuses a malformed stored hash instead of throwing', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$1$1$1$$')).toBe(false);
  });

  it('checks against a decoy for unknown accounts and always says no', async () => {
    expect(await verifyAgainstDecoy('anything at all', fast)).toBe(false);
  });

  it('keeps verifying hashes made at an older cost, and says which to rehash', async () => {
    const legacy = await hashPassword('correct horse', scryptCost(15)); // the cost before OWASP's minimum
    expect(await verifyPassword('correct horse', legacy)).toBe(true);
    expect(needsRehash(legacy, DEFAULT_COST)).toBe(true);
    expect(needsRehash(legacy, scryptCost(15))).toBe(false);
    expect(needsRehash(legacy, scryptCost(14))).toBe(false); // never downgraded
    expect(needsRehash('scrypt$131072$4$1$s$h', DEFAULT_COST)).toBe(true);
    expect(needsRehash('plain-text', DEFAULT_COST)).toBe(true);
  });
});
