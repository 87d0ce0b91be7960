// Twin of VisitsListVisits (functions/visits/list-visits.ts, visits.ts listVisits): soonest first, one
// Query with Limit (limit + 1) on the index of the filter (gsi1 status, gsi2 member, gsi3 member and
// status; no filter: the three status partitions merged). The account lookup runs beside the Query
// (the token is verified first), as the real handler does (Visits.asCaller).
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type Event, reply, TABLE } from './shared.js';
import {
  accountExists,
  badParameters,
  encodeCursor,
  type Item,
  queryUpTo,
  readPage,
  takeWithinBytes,
  UUID,
  unauthenticated,
  VISIT_STATUSES,
  verifySession,
} from './visits-b-shared.js';
import {
  type Context,
  isReply,
  memberPk,
  memberStatusPk,
  statusPk,
  toVisit,
  VISIT_SK_PREFIX,
  type VisitItem,
  visitSk,
} from './visits-shared.js';

const POSITION = /^(\d{4}-\d{2}-\d{2})\|([0-9a-f-]{36})$/;

const byDate = (a: Item, b: Item) => {
  const [ad, bd, ai, bi] = [a.date as string, b.date as string, a.visitId as string, b.visitId as string];
  return ad < bd ? -1 : ad > bd ? 1 : ai < bi ? -1 : ai > bi ? 1 : 0;
};

export const handler = async (event: Event, _context?: Context) => {
  const caller = await verifySession(event);
  if (isReply(caller)) return caller;
  const query = event.queryStringParameters ?? {};
  const errors: Record<string, string[]> = {};
  const status = query.status;
  if (status !== undefined && !(VISIT_STATUSES as readonly string[]).includes(status))
    errors.status = [`status must be one of ${VISIT_STATUSES.join(', ')}`];
  const memberId = query.member_id;
  if (memberId !== undefined && !UUID.test(memberId)) errors.member_id = ['member_id must be a UUID'];
  const { limit, after } = readPage(query, POSITION, errors);
  if (Object.keys(errors).length > 0) {
    if (!(await accountExists(caller.userId))) return unauthenticated(event);
    return badParameters(event, errors);
  }

  const take = limit + 1;
  const run = (index: string, pk: string) => {
    const input: QueryCommandInput = {
      TableName: TABLE,
      IndexName: index,
      KeyConditionExpression: after ? '#pk = :pk and #sk > :sk' : '#pk = :pk and begins_with(#sk, :sk)',
      ExpressionAttributeNames: { '#pk': `${index}pk`, '#sk': `${index}sk` },
      ExpressionAttributeValues: { ':pk': pk, ':sk': after ? visitSk(after[0], after[1]) : VISIT_SK_PREFIX },
    };
    return queryUpTo(input, take, 'visit');
  };
  const read = async (): Promise<Item[]> => {
    if (memberId && status) return run('gsi3', memberStatusPk(memberId, status));
    if (memberId) return run('gsi2', memberPk(memberId));
    if (status) return run('gsi1', statusPk(status));
    const parts = await Promise.all(VISIT_STATUSES.map((s) => run('gsi1', statusPk(s))));
    return parts.flat().sort(byDate);
  };
  const [exists, items] = await Promise.all([accountExists(caller.userId), read()]);
  if (!exists) return unauthenticated(event);

  const visits = takeWithinBytes(items.slice(0, limit).map((v) => toVisit(v as unknown as VisitItem)));
  const last = items[visits.length - 1];
  return reply(200, {
    data: visits,
    next_cursor: items.length > visits.length && last ? encodeCursor(`${last.date}|${last.visitId}`) : null,
  });
};
