// Shared pieces of the visits twins: the session authentication every protected visits route does
// (HS256 token signed with the SSM secret + "the account still exists"), token issuing, the password
// hash (same scrypt parameters as packages/visits/src/passwords.ts), and the keys of the real items in
// ElectroDB's format (packages/visits/src/entities.ts): `$visits#<attr>_<value>` partition keys,
// `$<entity>_1[#<attr>_<value>...]` sort keys, every key value lower-cased (ElectroDB's default casing).
import { randomBytes, randomUUID, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { jwtVerify, SignJWT } from 'jose';
import { doc, type Event, reply, TABLE } from './shared.js';

// ---- errors (the real handlers' envelope: { error: { status, message, errors?, request_id } }) -------

export interface Context {
  awsRequestId?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id the real frame answers with: a valid incoming `x-request-id`, else a fresh one. */
export function requestIdOf(source?: Context | Event): string {
  const incoming = (source as Event | undefined)?.headers?.['x-request-id'];
  if (incoming && REQUEST_ID.test(incoming)) return incoming;
  return (source as Context | undefined)?.awsRequestId ?? randomUUID();
}

/** The error envelope; pass the event (or the Lambda context) for the request id. */
export const fail = (
  status: number,
  message: string,
  source?: Context | Event,
  errors?: Record<string, string[]>,
) =>
  reply(status, {
    error: { status, message, ...(errors ? { errors } : {}), request_id: requestIdOf(source) },
  });

/** DynamoDB's cancellation codes of a failed TransactWriteItems (undefined for any other error). */
export function cancellationCodes(error: unknown): string[] | undefined {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== 'TransactionCanceledException') return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

export type Reply = ReturnType<typeof reply>;

// ---- token secret and tokens (packages/visits/src/tokens.ts) ----------------------------------------

const ssm = new SSMClient({});
let secretPromise: Promise<Uint8Array> | undefined;

/** The HS256 secret: one SSM SecureString read (decrypted) per container. */
export function tokenSecret(): Promise<Uint8Array> {
  secretPromise ??= ssm
    .send(new GetParameterCommand({ Name: process.env.PARAM_VISITS_TOKEN_SECRET, WithDecryption: true }))
    .then((r) => new TextEncoder().encode(r.Parameter?.Value ?? ''))
    .catch((error: unknown) => {
      secretPromise = undefined;
      throw error;
    });
  return secretPromise;
}

export const ISSUER = 'svc-visits';
export const AUDIENCE = 'svc-visits';
export const TOKEN_TTL_SECONDS = 24 * 3600;

/** `{ access_token, expires_at }` exactly as the real `issue` signs it. */
export async function issueToken(userId: string, now = new Date()) {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + TOKEN_TTL_SECONDS;
  const accessToken = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomUUID())
    .sign(await tokenSecret());
  return { access_token: accessToken, expires_at: new Date(expiresAt * 1000).toISOString() };
}

/** `Bearer <t>` or the bare token (the real authenticator allows both). */
export function tokenOf(event: Event): string | undefined {
  const raw = event.headers?.authorization?.trim();
  if (!raw) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(raw);
  if (match?.[1]) return match[1];
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(raw) ? raw : undefined;
}

/**
 * The protected visits routes' authentication: a valid HS256 token (issuer, audience, sub and exp
 * required, 5 s clock tolerance) and the account still there (a consistent GetItem of the user item,
 * keys only). Returns the caller or the 401 reply to send.
 */
export async function authenticate(event: Event, context?: Context): Promise<{ userId: string } | Reply> {
  const caller = await authenticateWith(event, context, ['pk']);
  return isReply(caller) ? caller : { userId: caller.userId };
}

/**
 * `authenticate` whose account lookup (the same consistent GetItem of the user item) also brings the
 * user attributes the work needs, so a route that reads the caller's own item reads it once.
 */
export async function authenticateWith(
  event: Event,
  context: Context | undefined,
  attributes: readonly string[],
): Promise<{ userId: string; item: Record<string, unknown> } | Reply> {
  const unauthenticated = () => fail(401, 'Not authenticated', requestSource(event, context));
  const token = tokenOf(event);
  if (!token) return unauthenticated();
  const secret = await tokenSecret();
  let userId: string;
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 5,
    });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return unauthenticated();
    userId = payload.sub;
  } catch {
    return unauthenticated();
  }
  const names = Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a]));
  const { Item } = await doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: userKey(userId),
      ConsistentRead: true,
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
    }),
  );
  return Item ? { userId, item: Item } : unauthenticated();
}

const requestSource = (event: Event, context?: Context): Event | Context =>
  event.headers?.['x-request-id'] ? event : (context ?? event);

export const isReply = <T extends object>(x: T | Reply): x is Reply => 'statusCode' in x;

// ---- passwords (packages/visits/src/passwords.ts) ----------------------------------------------------

/** The stage's cost, as the real function reads it (PASSWORD_SCRYPT_LOG2N; 17 when unset). */
const COST = { N: 2 ** Number(process.env.PASSWORD_SCRYPT_LOG2N ?? 17), r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }, length: number) {
  const options: ScryptOptions = { ...cost, maxmem: 128 * cost.N * cost.r * 2 };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, length, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, COST, KEY_LENGTH);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    { N: Number(n), r: Number(r), p: Number(p) },
    expected.length,
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let decoy: Promise<string> | undefined;

/** The same scrypt work as a real check, for an unknown email. */
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await decoy);
  return false;
}

// ---- keys of the real items (ElectroDB format) -------------------------------------------------------

const lc = (s: string) => s.toLowerCase();

/** ElectroDB's ownership markers, on every item it writes (and on every item patched through it). */
export const edb = (entity: 'user' | 'email' | 'visit' | 'listing' | 'transaction' | 'ledger') => ({
  __edb_e__: entity,
  __edb_v__: '1',
});

/** The trimmed, lower-cased address the email claim is keyed on (rules.ts `emailKey`). */
export const emailClaim = (email: string) => email.trim().toLowerCase();

export const userKey = (userId: string) => ({ pk: `$visits#userid_${lc(userId)}`, sk: '$user_1' });

/** Key of the email claim; pass the address (it is trimmed and lower-cased here). */
export const emailKey = (email: string) => ({
  pk: `$visits#emailkey_${lc(emailClaim(email))}`,
  sk: '$email_1',
});

export const visitKey = (visitId: string) => ({ pk: `$visits#visitid_${lc(visitId)}`, sk: '$visit_1' });

/** The transaction lives in its visit's partition. */
export const transactionKey = (visitId: string) => ({
  pk: `$visits#visitid_${lc(visitId)}`,
  sk: '$transaction_1',
});

export const ledgerPk = (ownerId: string) => `$visits#ownerid_${lc(ownerId)}`;
/** Prefix of every ledger sort key (Query begins_with, newest first with ScanIndexForward false). */
export const LEDGER_SK_PREFIX = '$ledger_1#createdat_';
export const ledgerKey = (ownerId: string, createdAt: string, transactionId: string) => ({
  pk: ledgerPk(ownerId),
  sk: `${LEDGER_SK_PREFIX}${lc(createdAt)}#transactionid_${lc(transactionId)}`,
});

/** Visit index keys: gsi2 by member, gsi3 by member and status; both sorted by date, id. */
export const visitSk = (date: string, visitId: string) => `$visit_1#date_${lc(date)}#visitid_${lc(visitId)}`;
/** Prefix of every visit index sort key (Query begins_with; `gt` a position uses visitSk). */
export const VISIT_SK_PREFIX = '$visit_1#date_';
export const memberPk = (memberId: string) => `$visits#memberid_${lc(memberId)}`;
export const memberStatusPk = (memberId: string, status: string) =>
  `$visits#memberid_${lc(memberId)}#status_${lc(status)}`;

/** All four index attributes of a visit item (the visit left gsi1 in issue 16: lists by status read listings). */
export const visitIndexKeys = (v: { visitId: string; memberId: string; date: string; status: string }) => {
  const sk = visitSk(v.date, v.visitId);
  return {
    gsi2pk: memberPk(v.memberId),
    gsi2sk: sk,
    gsi3pk: memberStatusPk(v.memberId, v.status),
    gsi3sk: sk,
  };
};

// ---- response shapes (accounts.ts toUser, visits.ts toVisit / toTransaction) ------------------------

export interface VisitItem {
  visitId: string;
  memberId: string;
  date: string;
  minutes: number;
  status: string;
  tasks: { id: string; name: string; description?: string }[];
  palId?: string;
  createdAt: string;
  completedAt?: string;
  canceledAt?: string;
}

export const toVisit = (v: VisitItem) => ({
  id: v.visitId,
  member_id: v.memberId,
  date: v.date,
  minutes: v.minutes,
  status: v.status,
  tasks: v.tasks.map((t) => ({ id: t.id, name: t.name, description: t.description ?? null })),
  created_at: v.createdAt,
  ...(v.palId ? { pal_id: v.palId } : {}),
  ...(v.completedAt ? { completed_at: v.completedAt } : {}),
  ...(v.canceledAt ? { canceled_at: v.canceledAt } : {}),
});

export interface TransactionItem {
  transactionId: string;
  visitId: string;
  memberId: string;
  palId: string;
  minutes: number;
  palCredit: number;
  fee: number;
  createdAt: string;
}

export const toTransaction = (t: TransactionItem) => ({
  id: t.transactionId,
  visit_id: t.visitId,
  member_id: t.memberId,
  pal_id: t.palId,
  minutes: t.minutes,
  pal_credit: t.palCredit,
  fee: t.fee,
  created_at: t.createdAt,
});

export interface UserItem {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  minutes: number;
  reserved: number;
  available: number;
}

export const toUser = (u: UserItem) => ({
  id: u.userId,
  email: u.email,
  first_name: u.firstName,
  last_name: u.lastName,
  minutes: u.minutes,
  reserved_minutes: u.reserved,
  available_minutes: u.available,
});

// ---- the open-visits index (entities.ts ListingEntity, visits.ts listing) ------------------------------

/** Shards of each status list (entities.ts LIST_SHARDS). */
export const LIST_SHARDS = 32;
/** A visit's list shard: the last 6 hex digits of its id, mod 32 (entities.ts listShard). */
export const listShard = (visitId: string) =>
  Number.parseInt(visitId.replace(/-/g, '').slice(-6), 16) % LIST_SHARDS;
export const listingPk = (status: string, shard: number) => `$visits#status_${lc(status)}#shard_${shard}`;
/** Prefix of every listing sort key; `date >= d` is `sk >= LISTING_SK_PREFIX + d`. */
export const LISTING_SK_PREFIX = '$listing_1#date_';
export const listingSk = (date: string, visitId: string) =>
  `${LISTING_SK_PREFIX}${lc(date)}#visitid_${lc(visitId)}`;
export const listingKey = (status: string, v: { visitId: string; date: string }) => ({
  pk: listingPk(status, listShard(v.visitId)),
  sk: listingSk(v.date, v.visitId),
});

const DAY_SECONDS = 86_400;
/**
 * The listing entry a status-changing transaction puts (no condition, as ElectroDB's `put`); a requested
 * one expires (TTL) two days after its date.
 */
export const listingPut = (status: string, v: { visitId: string; date: string }) => ({
  Put: {
    TableName: TABLE,
    Item: {
      status,
      shard: listShard(v.visitId),
      date: v.date,
      visitId: v.visitId,
      ...(status === 'requested'
        ? { expiresAt: Math.floor(Date.parse(`${v.date}T00:00:00Z`) / 1000) + 3 * DAY_SECONDS }
        : {}),
      ...listingKey(status, v),
      ...edb('listing'),
    },
  },
});
/** The listing entry the same transaction deletes (the status the visit leaves). */
export const listingDelete = (status: string, v: { visitId: string; date: string }) => ({
  Delete: { TableName: TABLE, Key: listingKey(status, v) },
});
