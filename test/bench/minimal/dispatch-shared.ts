// Dispatch twins' common parts: the real items' keys (ElectroDB's `$dispatch#…` / `$message_1` format, keys
// lowercased), the SSM callback secret, the signed callback token, segment counting and the answers' shapes.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type Event, reply } from './shared.js';

/** ElectroDB's entity markers, written on every item (and every update) it makes. */
export const MESSAGE_MARKERS = { __edb_e__: 'message', __edb_v__: '1' } as const;
export const BREAKER_MARKERS = { __edb_e__: 'breaker', __edb_v__: '1' } as const;
export const SUPPRESSION_MARKERS = { __edb_e__: 'suppression', __edb_v__: '1' } as const;

export const messageKey = (id: string) => ({ pk: `$dispatch#id_${id.toLowerCase()}`, sk: '$message_1' });
export const suppressionKey = (toNumber: string) => ({
  pk: `$dispatch#tonumber_${toNumber.toLowerCase()}`,
  sk: '$suppression_1',
});
export const breakerKey = (provider: string) => ({
  pk: `$dispatch#provider_${provider.toLowerCase()}`,
  sk: '$breaker_1',
});
/** gsi1pk (one number's messages) of a message. */
export const numberPk = (toNumber: string) => `$dispatch#tonumber_${toNumber.toLowerCase()}`;
/** Legacy: the old all-messages partition of gsi2 (read until the backfill has moved every message). */
export const FEED_PK = '$dispatch#feed_all';
export const FEED_MARKERS = { __edb_e__: 'feed', __edb_v__: '1' } as const;
export const FEED_SHARDS = 16;
export const feedShard = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(-6), 16) % FEED_SHARDS;
/** A feed entry's key: its shard's partition, newest first by `createdAt#id`. */
export const feedKey = (createdAt: string, id: string) => ({
  pk: `$dispatch#shard_${feedShard(id)}`,
  sk: feedSk(createdAt, id),
});
export const feedSk = (createdAt: string, id: string) =>
  `$feed_1#createdat_${createdAt}#id_${id}`.toLowerCase();
export const FEED_SK_PREFIX = '$feed_1#createdat_';
/** gsi1sk / gsi2sk: newest first by `createdAt#id`. */
export const listSk = (createdAt: string, id: string) =>
  `$message_1#createdat_${createdAt}#id_${id}`.toLowerCase();
export const LIST_SK_PREFIX = '$message_1#createdat_';

export const isConditionFailure = (error: unknown) =>
  (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

// ---------- the callback secret (Powertools' cache in the real one: 60 s) ----------
const ssm = new SSMClient({});
let secret: { value: string; until: number } | undefined;

export async function callbackSecret(): Promise<string> {
  if (secret && secret.until > Date.now()) return secret.value;
  const { Parameter } = await ssm.send(
    new GetParameterCommand({ Name: process.env.PARAM_DISPATCH_CALLBACK_SECRET, WithDecryption: true }),
  );
  if (!Parameter?.Value) throw new Error('callback secret missing');
  secret = { value: Parameter.Value, until: Date.now() + 60_000 };
  return secret.value;
}

// ---------- the signed callback token (packages/dispatch/src/callback-token.ts) ----------
const PURPOSE = 'dispatch-delivery-status:v1:';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const mac = (key: string, id: string) =>
  createHmac('sha256', key)
    .update(PURPOSE + id)
    .digest();

export const callbackToken = (key: string, id: string) => `${id}.${mac(key, id).toString('base64url')}`;

/** The message id the token was made for, or undefined when it is malformed or forged. */
export function verifyCallbackToken(key: string, token: string | undefined): string | undefined {
  if (!token || token.length > 200) return undefined;
  const dot = token.indexOf('.');
  const id = token.slice(0, Math.max(0, dot));
  if (dot < 0 || !UUID.test(id)) return undefined;
  const encoded = token.slice(dot + 1);
  const given = Buffer.from(encoded, 'base64url');
  if (given.length !== 32 || given.toString('base64url') !== encoded) return undefined;
  return timingSafeEqual(given, mac(key, id)) ? id : undefined;
}

// ---------- SMS segments (GSM 03.38, as packages/dispatch/src/segments.ts) ----------
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export function countSegments(text: string): { segments: number; encoding: 'GSM-7' | 'UCS-2' } {
  const costs: number[] = [];
  let gsm = true;
  for (const ch of text) {
    if (gsm && GSM_BASIC.has(ch)) costs.push(1);
    else if (gsm && GSM_EXTENSION.has(ch)) costs.push(2);
    else gsm = false;
  }
  const encoding = gsm ? 'GSM-7' : 'UCS-2';
  const all = gsm ? costs : [...text].map((ch) => ch.length);
  const units = all.reduce((s, c) => s + c, 0);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  if (units === 0) return { segments: 0, encoding };
  if (units <= single) return { segments: 1, encoding };
  let parts = 1;
  let used = 0;
  for (const cost of all) {
    if (used + cost > multi) {
      parts++;
      used = 0;
    }
    used += cost;
  }
  return { segments: parts, encoding };
}

// ---------- answers (packages/dispatch/src/messages.ts) ----------
export interface HistoryEntry {
  status: string;
  at: string;
  provider?: string;
  detail?: string;
}
export type MessageRow = Record<string, unknown> & {
  id: string;
  toNumber: string;
  message: string;
  status: string;
  segments: number;
  encoding: string;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
  provider?: string;
  providerMessageId?: string;
};

export const summaryOf = (m: MessageRow) => ({
  id: m.id,
  to_number: m.toNumber,
  message: m.message,
  status: m.status,
  segments: m.segments,
  encoding: m.encoding,
  provider: m.provider ?? null,
  provider_message_id: m.providerMessageId ?? null,
  created_at: m.createdAt,
  updated_at: m.updatedAt,
});

/** With the history in time order (a callback may be recorded before the sender's `sent`). */
export const viewOf = (m: MessageRow) => ({
  ...summaryOf(m),
  history: m.history
    .map((h, i) => ({ h, i }))
    .sort((x, y) => (x.h.at < y.h.at ? -1 : x.h.at > y.h.at ? 1 : x.i - y.i))
    .map(({ h }) => ({
      status: h.status,
      at: h.at,
      ...(h.provider ? { provider: h.provider } : {}),
      ...(h.detail ? { detail: h.detail } : {}),
    })),
});

/**
 * The item a failed condition hands back (ReturnValuesOnConditionCheckFailure: ALL_OLD) comes in
 * DynamoDB's wire form, even through the DocumentClient: read the few types these items hold.
 */
type Wire = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; L?: Wire[]; M?: Record<string, Wire> };
const plain = (v: Wire): unknown =>
  v.S ?? (v.N !== undefined ? Number(v.N) : (v.BOOL ?? (v.L ? v.L.map(plain) : v.M ? plainItem(v.M) : null)));
export const plainItem = (item: Record<string, Wire> | undefined): Record<string, unknown> | undefined =>
  item && Object.fromEntries(Object.entries(item).map(([k, v]) => [k, plain(v)]));

/** The SPEC §0 error envelope of the real stack: the caller's X-Request-Id echoed, field errors if any. */
export const problem = (
  event: Event,
  status: number,
  message: string,
  extra?: { fields?: Record<string, string[]>; headers?: Record<string, string> },
) => {
  const incoming = event.headers?.['x-request-id'];
  const requestId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  return reply(
    status,
    { error: { status, message, ...(extra?.fields ? { errors: extra.fields } : {}), request_id: requestId } },
    extra?.headers,
  );
};

/** ExpressionAttributeNames for every `#name` the expressions use (each name aliased to itself). */
export const namesOf = (...expressions: (string | undefined)[]): Record<string, string> =>
  Object.fromEntries(
    [...new Set(expressions.join(' ').match(/#\w+/g) ?? [])].map((alias) => [alias, alias.slice(1)]),
  );
