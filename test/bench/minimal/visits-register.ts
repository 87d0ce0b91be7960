// Twin of VisitsRegister: the registrations-per-IP counter, scrypt the password, then the email claim and the user in one
// TransactWriteItems (both conditional creates), and a signed session token.
import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { take } from './limits-shared.js';
import { doc, type Event, reply, TABLE } from './shared.js';
import {
  type Context,
  cancellationCodes,
  edb,
  emailClaim,
  emailKey,
  fail,
  hashPassword,
  issueToken,
  userKey,
} from './visits-shared.js';

const STARTING_MINUTES = Number(process.env.STARTING_MINUTES ?? 120);
const CREATE = 'attribute_not_exists(pk) AND attribute_not_exists(sk)';

export const handler = async (event: Event, _context?: Context) => {
  const input = JSON.parse(event.body ?? '{}') as Record<string, string>;
  const ip = String(
    (event as { requestContext?: { http?: { sourceIp?: string } } }).requestContext?.http?.sourceIp,
  );
  const wait = await take('registrationsPerIp', ip);
  if (wait !== undefined) {
    const answer = fail(429, 'Too many requests, retry later.', event);
    return { ...answer, headers: { ...answer.headers, 'retry-after': String(wait) } };
  }
  const email = String(input.email).trim();
  const userId = randomUUID();
  const now = new Date();
  const passwordHash = await hashPassword(String(input.password));
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE,
              Item: { emailKey: emailClaim(email), userId, ...emailKey(email), ...edb('email') },
              ConditionExpression: CREATE,
            },
          },
          {
            Put: {
              TableName: TABLE,
              Item: {
                userId,
                email,
                firstName: String(input.first_name).trim(),
                lastName: String(input.last_name).trim(),
                passwordHash,
                minutes: STARTING_MINUTES,
                reserved: 0,
                available: STARTING_MINUTES,
                createdAt: now.toISOString(),
                ...userKey(userId),
                ...edb('user'),
              },
              ConditionExpression: CREATE,
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed')
      return fail(409, 'This email is already registered.', event, { email: ['has already been taken'] });
    throw error;
  }
  return reply(201, { data: await issueToken(userId, now) });
};
