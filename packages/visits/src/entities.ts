import { dynamo } from '@svc/platform';
import { Entity, Service } from 'electrodb';
import { VISIT_STATUSES } from './rules.js';

/**
 * One account. `available` is always `minutes − reserved`, kept in every write, so a budget check is a
 * plain `available >= :m` condition that ElectroDB can express (DynamoDB has no arithmetic in conditions).
 */
export const UserEntity = new Entity({
  model: { service: 'visits', entity: 'user', version: '1' },
  attributes: {
    userId: { type: 'string', required: true, readOnly: true },
    email: { type: 'string', required: true },
    firstName: { type: 'string', required: true },
    lastName: { type: 'string', required: true },
    /** `scrypt$N$r$p$salt$hash` (base64url); never returned or logged. */
    passwordHash: { type: 'string', required: true },
    minutes: { type: 'number', required: true },
    reserved: { type: 'number', required: true },
    available: { type: 'number', required: true },
    /** Set while the account is being deleted: no new reservations are accepted. */
    closing: { type: 'boolean' },
    createdAt: { type: 'string', required: true, readOnly: true },
    /** Logged-out tokens still within their lifetime: jti → exp (Unix seconds). See tokens.ts `isRevoked`. */
    revoked: { type: 'any' },
    /** Every token issued at or before this second is revoked. */
    tokensNotBefore: { type: 'number' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['userId'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

/** Uniqueness claim on a lower-cased email, written in the same transaction as its user. */
export const EmailEntity = new Entity({
  model: { service: 'visits', entity: 'email', version: '1' },
  attributes: {
    emailKey: { type: 'string', required: true, readOnly: true },
    userId: { type: 'string', required: true, readOnly: true },
  },
  indexes: {
    byEmail: {
      pk: { field: 'pk', composite: ['emailKey'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

/**
 * A visit, read by id from the table. Its two indexes are the member's own (per-entity) lists, sorted by
 * date: by member, and by member and status (deletion, "my open visits"). Lists across members by status
 * (pals looking for work) read the small {@link ListingEntity} entries instead; the visit left gsi1 (its
 * old `status` partitions were one hot key per status, see README "Open-visits index").
 */
export const VisitEntity = new Entity({
  model: { service: 'visits', entity: 'visit', version: '1' },
  attributes: {
    visitId: { type: 'string', required: true, readOnly: true },
    memberId: { type: 'string', required: true, readOnly: true },
    date: { type: 'string', required: true, readOnly: true },
    minutes: { type: 'number', required: true, readOnly: true },
    status: { type: VISIT_STATUSES, required: true },
    tasks: {
      type: 'list',
      required: true,
      readOnly: true,
      items: {
        type: 'map',
        properties: {
          id: { type: 'string', required: true },
          name: { type: 'string', required: true },
          description: { type: 'string' },
        },
      },
    },
    palId: { type: 'string' },
    createdAt: { type: 'string', required: true, readOnly: true },
    completedAt: { type: 'string' },
    canceledAt: { type: 'string' },
  },
  indexes: {
    byId: {
      pk: { field: 'pk', composite: ['visitId'] },
      sk: { field: 'sk', composite: [] },
    },
    byMember: {
      index: 'gsi2',
      pk: { field: 'gsi2pk', composite: ['memberId'] },
      sk: { field: 'gsi2sk', composite: ['date', 'visitId'] },
    },
    byMemberStatus: {
      index: 'gsi3',
      pk: { field: 'gsi3pk', composite: ['memberId', 'status'] },
      sk: { field: 'gsi3sk', composite: ['date', 'visitId'] },
    },
  },
});

/** Write shards of each status list: 32 partitions take 10,000 requests/s at 2 WCU (transactional) each. */
export const LIST_SHARDS = 32;

/** The list shard of a visit: from its id, so every writer (and the backfill) finds the same one. */
export function listShard(visitId: string): number {
  return Number.parseInt(visitId.replace(/-/g, '').slice(-6), 16) % LIST_SHARDS;
}

/**
 * A visit's entry in the list of its status across members: `pk=$visits#status_<s>#shard_<n>`,
 * `sk=date#visitId`, ~200 bytes (no tasks: the visit's large fields stay on the visit item). Written in
 * the same transaction that gives the visit that status and deleted in the one that takes it away, so
 * an entry exists exactly while its visit has its status. Entries of requested visits expire (TTL) two
 * days after their date, and the list reads `date >= today`, so past dates fall out of the pals' list.
 */
export const ListingEntity = new Entity({
  model: { service: 'visits', entity: 'listing', version: '1' },
  attributes: {
    status: { type: VISIT_STATUSES, required: true, readOnly: true },
    shard: { type: 'number', required: true, readOnly: true },
    date: { type: 'string', required: true, readOnly: true },
    visitId: { type: 'string', required: true, readOnly: true },
    expiresAt: { type: 'number' },
  },
  indexes: {
    byStatus: {
      pk: { field: 'pk', composite: ['status', 'shard'] },
      sk: { field: 'sk', composite: ['date', 'visitId'] },
    },
  },
});

const transactionAttributes = {
  transactionId: { type: 'string', required: true, readOnly: true },
  visitId: { type: 'string', required: true, readOnly: true },
  memberId: { type: 'string', required: true, readOnly: true },
  palId: { type: 'string', required: true, readOnly: true },
  minutes: { type: 'number', required: true, readOnly: true },
  palCredit: { type: 'number', required: true, readOnly: true },
  fee: { type: 'number', required: true, readOnly: true },
  createdAt: { type: 'string', required: true, readOnly: true },
} as const;

/** The record of a completion, in its visit's partition: one per visit, so a second one cannot exist. */
export const TransactionEntity = new Entity({
  model: { service: 'visits', entity: 'transaction', version: '1' },
  attributes: transactionAttributes,
  indexes: {
    byVisit: {
      pk: { field: 'pk', composite: ['visitId'] },
      sk: { field: 'sk', composite: [] },
    },
  },
});

/**
 * A copy of a transaction in the partition of each party (member and pal), newest first by sort key,
 * so "my transactions" is one Query without spending an index on each role.
 */
export const LedgerEntity = new Entity({
  model: { service: 'visits', entity: 'ledger', version: '1' },
  attributes: {
    ownerId: { type: 'string', required: true, readOnly: true },
    role: { type: ['member', 'pal'] as const, required: true, readOnly: true },
    ...transactionAttributes,
  },
  indexes: {
    byOwner: {
      pk: { field: 'pk', composite: ['ownerId'] },
      sk: { field: 'sk', composite: ['createdAt', 'transactionId'] },
    },
  },
});

let service: ReturnType<typeof createService> | undefined;

function createService() {
  const { client, table } = dynamo();
  return new Service(
    {
      user: UserEntity,
      email: EmailEntity,
      visit: VisitEntity,
      listing: ListingEntity,
      transaction: TransactionEntity,
      ledger: LedgerEntity,
    },
    { client, table },
  );
}

/** The visits ElectroDB service, bound to the shared client on first use (once per container). */
export function visitsDb() {
  service ??= createService();
  return service;
}
