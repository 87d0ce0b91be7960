// Twin of VisitsEndSession: the token (with its jti) verified, the account read (consistent, with its
// revoked tokens: a logged-out token is refused here too), then one UpdateItem adding the jti to the
// account's `revoked` map (created on the first logout).
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { jwtVerify } from 'jose';
import { doc, type Event, reply, TABLE } from './shared.js';
import { AUDIENCE, type Context, fail, ISSUER, tokenOf, tokenSecret, userKey } from './visits-shared.js';

export const handler = async (event: Event, _context?: Context) => {
  const unauthenticated = () => fail(401, 'Not authenticated', event);
  const token = tokenOf(event);
  if (!token) return unauthenticated();
  let claims: { sub: string; jti: string; exp: number; iat: number };
  try {
    const { payload } = await jwtVerify(token, await tokenSecret(), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'jti'],
      clockTolerance: 5,
    });
    claims = payload as typeof claims;
  } catch {
    return unauthenticated();
  }
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: userKey(claims.sub),
      ConsistentRead: true,
      ProjectionExpression: 'revoked, tokensNotBefore',
    }),
  );
  if (!Item) return unauthenticated();
  const revoked = (Item.revoked ?? undefined) as Record<string, number> | undefined;
  if (revoked && Object.hasOwn(revoked, claims.jti)) return unauthenticated();
  if (typeof Item.tokensNotBefore === 'number' && claims.iat <= Item.tokensNotBefore)
    return unauthenticated();
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: userKey(claims.sub),
      UpdateExpression: revoked ? 'SET revoked.#jti = :exp' : 'SET revoked = :first',
      ConditionExpression: 'attribute_exists(pk)',
      ...(revoked ? { ExpressionAttributeNames: { '#jti': claims.jti } } : {}),
      ExpressionAttributeValues: revoked
        ? { ':exp': claims.exp }
        : { ':first': { [claims.jti]: claims.exp } },
    }),
  );
  return { ...reply(204, null), headers: {}, body: '' };
};
