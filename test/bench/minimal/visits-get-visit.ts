// Twin of VisitsGetVisit (functions/visits/get-visit.ts): the session check and the visit, read in one
// consistent BatchGetItem (user key + visit key), as the real handler does.
import type { Event } from './shared.js';
import { reply } from './shared.js';
import { callerAndVisit } from './visits-b-shared.js';
import { type Context, isReply, toVisit, type VisitItem } from './visits-shared.js';

export const handler = async (event: Event, _context?: Context) => {
  const read = await callerAndVisit(event);
  if (isReply(read)) return read;
  return reply(200, { data: toVisit(read.visit as unknown as VisitItem) });
};
