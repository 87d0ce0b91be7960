// Twin of VisitsStartSession: the failed-login counters read in one request (refused there when either is
// full), then taken (per IP, then per email), the email claim, then its user (both consistent reads, only
// the attributes needed), scrypt verify (or the decoy for an unknown email), on success the email's count cleared and the IP's given back, and a signed token.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { clearAndRefund, digest, takeAll } from './limits-shared.js';
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

const throttled = (event: Event, seconds: number) => {
  const answer = fail(429, 'Too many requests, retry later.', event);
  return { ...answer, headers: { ...answer.headers, 'retry-after': String(seconds) } };
};

export const handler = async (event: Event, _context?: Context) => {
  const input = JSON.parse(event.body ?? '{}') as Record<string, string>;
  const password = String(input.password);
  const ip = String(
    (event as { requestContext?: { http?: { sourceIp?: string } } }).requestContext?.http?.sourceIp,
  );
  const emailClient = digest(String(input.email).trim().toLowerCase());
  const wait = await takeAll([
    ['loginFailuresPerIp', ip],
    ['loginFailuresPerEmail', emailClient],
  ]);
  if (wait !== undefined) return throttled(event, wait);
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
  await clearAndRefund('loginFailuresPerEmail', emailClient, 'loginFailuresPerIp', ip);
  return reply(200, { data: await issueToken(String(user.userId)) }, { 'cache-control': 'no-store' });
};
