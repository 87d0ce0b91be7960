// Twin of VisitsGetVisit (functions/visits/get-visit.ts): the session check and the visit, read in one
// consistent BatchGetItem (user key + visit key) where the real handler makes two GetItems.
import type { Event } from './shared.js';
import { reply } from './shared.js';
import {
  accountExists,
  badParameters,
  batchGet,
  keyOf,
  UUID,
  unauthenticated,
  verifySession,
} from './visits-b-shared.js';
import { type Context, fail, isReply, toVisit, userKey, type VisitItem, visitKey } from './visits-shared.js';

export const handler = async (event: Event, _context?: Context) => {
  const caller = await verifySession(event);
  if (isReply(caller)) return caller;
  const id = event.pathParameters?.id ?? '';
  if (!UUID.test(id)) {
    if (!(await accountExists(caller.userId))) return unauthenticated(event);
    return badParameters(event, { id: ['id must be a UUID'] });
  }
  const user = userKey(caller.userId);
  const key = visitKey(id);
  const found = await batchGet([user, key]);
  if (!found.has(keyOf(user))) return unauthenticated(event);
  const visit = found.get(keyOf(key));
  if (!visit) return fail(404, 'Visit not found.', event);
  return reply(200, { data: toVisit(visit as unknown as VisitItem) });
};
