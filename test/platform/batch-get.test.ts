import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetConsistent, dynamo, readAllKeys } from '@svc/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

// DynamoDB Local never leaves keys unprocessed, so the retry path is driven by a mocked client; the
// read itself runs against DynamoDB Local in the visits tests (every visit-by-id route uses it).
const ddb = mockClient(DynamoDBDocumentClient);
const table = () => dynamo().table;
const a = { pk: 'a', sk: 'x' };
const b = { pk: 'b', sk: 'x' };

describe('batchGetConsistent', () => {
  beforeEach(() => ddb.reset());
  afterAll(() => ddb.restore());

  it('asks again for the keys DynamoDB left unprocessed, consistently, and returns every item', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [table()]: [{ ...a, v: 1 }] },
        UnprocessedKeys: { [table()]: { Keys: [b] } },
      })
      .resolvesOnce({ Responses: { [table()]: [{ ...b, v: 2 }] } });
    const items = await batchGetConsistent([a, b]);
    expect(items).toEqual([
      { ...a, v: 1 },
      { ...b, v: 2 },
    ]);
    const asked = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.[table()]);
    expect(asked).toEqual([
      { Keys: [a, b], ConsistentRead: true },
      { Keys: [b], ConsistentRead: true },
    ]);
  });

  it('answers 503 when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).resolves({ UnprocessedKeys: { [table()]: { Keys: [a] } } });
    await expect(batchGetConsistent([a])).rejects.toMatchObject({ kind: 'unavailable' });
  });
});

// The loop every batch read shares (the raw one above, and the entities' gets in the visits list, the
// message feed and the carried-forward task report).
describe('readAllKeys', () => {
  it('asks again for what was left unprocessed until every key is answered', async () => {
    const asked: number[][] = [];
    const items = await readAllKeys([1, 2, 3, 4], async (keys) => {
      asked.push(keys);
      return { items: keys.slice(0, 1).map((k) => `item ${k}`), unprocessed: keys.slice(1) };
    });
    expect(items).toEqual(['item 1', 'item 2', 'item 3', 'item 4']);
    expect(asked).toEqual([[1, 2, 3, 4], [2, 3, 4], [3, 4], [4]]);
  });

  it('gives up with 503 after its rounds, having asked that many times', async () => {
    let calls = 0;
    const stuck = async (keys: number[]) => {
      calls++;
      return { items: [], unprocessed: keys };
    };
    await expect(readAllKeys([1], stuck, 3)).rejects.toMatchObject({ kind: 'unavailable' });
    expect(calls).toBe(3);
  });
});
