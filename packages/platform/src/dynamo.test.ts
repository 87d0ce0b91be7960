import { describe, expect, it } from 'vitest';
import { retryContention, TransactionContention, transactionCodes } from './dynamo.js';

const noSleep = async () => undefined;
const named = (name: string) => Object.assign(new Error(name), { name });

describe('retryContention', () => {
  it('retries a transaction conflict and returns the eventual result', async () => {
    let calls = 0;
    const result = await retryContention(
      async () => {
        calls++;
        if (calls < 3) throw named('TransactionConflictException');
        return 'done';
      },
      { sleep: noSleep },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('answers 409 after the attempts run out on conflicts', async () => {
    await expect(
      retryContention(async () => Promise.reject(new TransactionContention(['TransactionConflict'])), {
        sleep: noSleep,
        attempts: 3,
      }),
    ).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('answers 503 with Retry-After after the attempts run out on throttling', async () => {
    await expect(
      retryContention(async () => Promise.reject(named('ProvisionedThroughputExceededException')), {
        sleep: noSleep,
        attempts: 2,
      }),
    ).rejects.toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1 });
  });

  it('stops retrying at its time budget, answering 503 before the attempts run out', async () => {
    // Each throttled attempt takes 1.5 s (the SDK's own backoff inside it); the clock moves with them.
    let clock = 0;
    let calls = 0;
    await expect(
      retryContention(
        async () => {
          calls++;
          clock += 1_500;
          throw named('ProvisionedThroughputExceededException');
        },
        {
          attempts: 6,
          budgetMs: 4_000,
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
        },
      ),
    ).rejects.toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1 });
    expect(calls).toBe(3);
    expect(clock).toBeLessThan(4_000 + 1_500);
  });

  it('recognises errors wrapped by ElectroDB', async () => {
    const wrapped = Object.assign(new Error('electro'), { cause: named('ThrottlingException') });
    await expect(
      retryContention(async () => Promise.reject(wrapped), { sleep: noSleep, attempts: 1 }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('passes other errors through untouched, without retrying', async () => {
    let calls = 0;
    const error = named('ConditionalCheckFailedException');
    await expect(
      retryContention(
        async () => {
          calls++;
          throw error;
        },
        { sleep: noSleep },
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });
});

describe('transactionCodes', () => {
  it('is undefined for a committed transaction', () => {
    expect(transactionCodes({ canceled: false, data: [] })).toBeUndefined();
  });
  it('returns per-item codes for a condition failure', () => {
    const outcome = {
      canceled: true,
      data: [
        { rejected: true, code: 'ConditionalCheckFailed' },
        { rejected: false, code: 'None' },
      ],
    };
    expect(transactionCodes(outcome)).toEqual(['ConditionalCheckFailed', 'None']);
  });
  it('throws contention so it is retried', () => {
    const outcome = { canceled: true, data: [{ rejected: true, code: 'TransactionConflict' }] };
    expect(() => transactionCodes(outcome)).toThrow(TransactionContention);
  });
});
