// Twin of VisitsGetUser: the session check's account lookup (one consistent GetItem of the caller's
// user item) brings the attributes of the answer, so the account is read once.
import { type Event, reply } from './shared.js';
import { authenticateWith, type Context, isReply, toUser, type UserItem } from './visits-shared.js';

const ATTRIBUTES = ['userId', 'email', 'firstName', 'lastName', 'minutes', 'reserved', 'available'];

export const handler = async (event: Event, context?: Context) => {
  const caller = await authenticateWith(event, context, ATTRIBUTES);
  if (isReply(caller)) return caller;
  return reply(200, { data: toUser(caller.item as unknown as UserItem) });
};
