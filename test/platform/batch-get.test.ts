import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetConsistent, dynamo } from '@svc/platform';
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
