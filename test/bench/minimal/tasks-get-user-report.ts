// TasksGetUserReport, the minimal way: the report computed on demand from two Queries (the user's open
// tasks on gsi1, the completions in the window on gsi2), nothing stored.
import { type Event, failure, reply, verifyJwt } from './shared.js';
import { buildReport, EXTERNAL_ID, instant } from './tasks-shared.js';

const MAX_WINDOW_MS = 31 * 24 * 60 * 60 * 1000;

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'tasks:read');
  if ('statusCode' in caller) return caller;
  const userId = event.pathParameters?.userId ?? '';
  const from = instant(event.queryStringParameters?.from);
  const to = instant(event.queryStringParameters?.to);
  if (
    !EXTERNAL_ID.test(userId) ||
    !from ||
    !to ||
    from >= to ||
    Date.parse(to) - Date.parse(from) > MAX_WINDOW_MS
  )
    return failure(400, 'Invalid request parameters.');
  return reply(200, await buildReport(userId, from, to));
};
