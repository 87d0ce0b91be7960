// Twin of VisitsStartSession: the email claim, then its user (both consistent reads, only the
// attributes needed), scrypt verify (or the decoy for an unknown email), and a signed token.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  type Context,
  emailKey,
  fail,
  issueToken,
  userKey,
  verifyAgainstDecoy,
  verifyPassword,
} from './visits-shared.js';

export const handler = async (event: Event, _context?: Context) => {
  const input = JSON.parse(event.body ?? '{}') as Record<string, string>;
  const password = String(input.password);
  const { Item: claim } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: emailKey(String(input.email)),
      ConsistentRead: true,
      ProjectionExpression: 'userId',
    }),
  );
  const { Item: user } = claim
    ? await doc.send(
        new GetCommand({
          TableName: TABLE,
          Key: userKey(String(claim.userId)),
          ConsistentRead: true,
          ProjectionExpression: 'userId, passwordHash',
        }),
      )
    : { Item: undefined };
  const valid = user
    ? await verifyPassword(password, String(user.passwordHash))
    : await verifyAgainstDecoy(password);
  if (!user || !valid) return fail(401, 'Invalid email or password.', event);
  return reply(200, { data: await issueToken(String(user.userId)) });
};
