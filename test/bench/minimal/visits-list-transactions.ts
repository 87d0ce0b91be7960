// Twin of VisitsListTransactions (functions/visits/list-transactions.ts, visits.ts listTransactions):
// the caller's ledger partition newest first, one Query with Limit (limit + 1). The account lookup runs
// beside the Query (the token is verified first), as the real handler does (Visits.asCaller).
import { type Event, reply, TABLE } from './shared.js';
import {
  accountExists,
  badParameters,
  encodeCursor,
  queryUpTo,
  readPage,
  unauthenticated,
  verifySession,
} from './visits-b-shared.js';
import {
  type Context,
  isReply,
  LEDGER_SK_PREFIX,
  ledgerKey,
  ledgerPk,
  type TransactionItem,
  toTransaction,
} from './visits-shared.js';

const LEDGER_POSITION = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\|([0-9a-f-]{36})$/;

export const handler = async (event: Event, _context?: Context) => {
  const caller = await verifySession(event);
  if (isReply(caller)) return caller;
  const errors: Record<string, string[]> = {};
  const { limit, after } = readPage(event.queryStringParameters ?? {}, LEDGER_POSITION, errors);
  if (Object.keys(errors).length > 0) {
    if (!(await accountExists(caller.userId))) return unauthenticated(event);
    return badParameters(event, errors);
  }
  const take = limit + 1;
  const [exists, data] = await Promise.all([
    accountExists(caller.userId),
    queryUpTo(
      {
        TableName: TABLE,
        KeyConditionExpression: after ? '#pk = :pk and #sk < :sk' : '#pk = :pk and begins_with(#sk, :sk)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: {
          ':pk': ledgerPk(caller.userId),
          ':sk': after ? ledgerKey(caller.userId, after[0], after[1]).sk : LEDGER_SK_PREFIX,
        },
        ScanIndexForward: false,
      },
      take,
      'ledger',
    ),
  ]);
  if (!exists) return unauthenticated(event);
  const items = data.slice(0, limit) as unknown as TransactionItem[];
  const last = items.at(-1);
  return reply(200, {
    data: items.map(toTransaction),
    next_cursor: data.length > limit && last ? encodeCursor(`${last.createdAt}|${last.transactionId}`) : null,
  });
};
