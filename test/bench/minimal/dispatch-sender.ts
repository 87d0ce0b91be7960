// The dispatch-send consumer, the minimal way. Per record: the signed callback URL (SSM secret) before
// anything else, then the claim — one conditional UpdateItem that moves the message to `sending` under a
// new token; when the condition fails, the outcome is read from the item DynamoDB returns with the failure
// (ReturnValuesOnConditionCheckFailure: ALL_OLD), not from a second GetItem. A claimed message: the
// suppression GetItem, one consistent BatchGetItem of the breakers, the providers by weight, then the
// conditional `sent` (or the claim's end) and the breaker's counters.
import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  BREAKER_MARKERS,
  breakerKey,
  callbackSecret,
  callbackToken,
  type HistoryEntry,
  isConditionFailure,
  MESSAGE_MARKERS,
  type MessageRow,
  messageKey,
  namesOf,
  plainItem,
  suppressionKey,
} from './dispatch-shared.js';
import { doc, TABLE } from './shared.js';

interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}
type Outcome = 'sent' | 'done' | 'suppressed' | 'busy' | 'retry' | 'failed';

const env = process.env;
const int = (value: string | undefined, fallback: number) => (value ? Number(value) : fallback);
const providers = (env.PROVIDER_WEIGHTS ?? 'provider1:30,provider2:70').split(',').map((part) => {
  const [name = '', weight = '0'] = part.trim().split(':');
  return {
    name,
    weight: Number(weight),
    url: env[`${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`] ?? '',
  };
});
const TIMEOUT_MS = int(env.PROVIDER_TIMEOUT_MS, 3000);
const CALLBACK_BASE = (env.CALLBACK_BASE_URL ?? '').replace(/\/+$/, '');
const MAX_RECEIVES = int(env.SQS_MAX_RECEIVE_COUNT, 3);
const THRESHOLD = int(env.BREAKER_FAILURE_THRESHOLD, 3);
const OPEN_MS = int(env.BREAKER_OPEN_SECONDS, 30) * 1000;
const PROBE_MS = TIMEOUT_MS + 10_000;
const LEASE_MS = providers.length * TIMEOUT_MS + 10_000;
const BACKOFF =
  env.SQS_QUEUE_URL && env.SQS_RETRY_BACKOFF_SECONDS ? Number(env.SQS_RETRY_BACKOFF_SECONDS) : 0;
const sqs = new SQSClient({ maxAttempts: 3 });
const lastFailures = new Map<string, number>();

const markers = { ':id': '', ':e': MESSAGE_MARKERS.__edb_e__, ':v': MESSAGE_MARKERS.__edb_v__ };
const SET_MARKERS = '#id = :id, #__edb_e__ = :e, #__edb_v__ = :v';

/** A conditional UpdateItem of the message; false when its condition failed (with the old item). */
async function updateMessage(
  id: string,
  update: string,
  condition: string,
  values: Record<string, unknown>,
): Promise<{ ok: true; item?: MessageRow } | { ok: false; old?: MessageRow }> {
  try {
    const { Attributes } = await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: messageKey(id),
        UpdateExpression: update,
        ConditionExpression: `attribute_exists(#pk) AND (${condition})`,
        ExpressionAttributeNames: namesOf(update, '#pk', condition),
        ExpressionAttributeValues: { ...markers, ':id': id, ...values },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { ok: true, item: Attributes as MessageRow };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { ok: false, old: plainItem((error as { Item?: never }).Item) as MessageRow | undefined };
  }
}

const appendHistory = '#history = list_append(if_not_exists(#history, :empty), :entry)';

/** Ends a claim: only its holder may, and only while the message is still `sending`. */
const finish = (id: string, token: string, at: string, status: 'sending' | 'failed', detail: string) =>
  updateMessage(
    id,
    `SET #status = :status, #updatedAt = :at, ${appendHistory}, ${SET_MARKERS} REMOVE #claimToken, #claimExpiresAt`,
    '#claimToken = :token AND #status = :sending',
    {
      ':status': status,
      ':at': at,
      ':empty': [],
      ':entry': [{ status, at, detail }],
      ':token': token,
      ':sending': 'sending',
    },
  );

async function markSent(id: string, token: string, provider: string, pmid: string, at: string) {
  const entry = { status: 'sent', at, provider };
  const first = await updateMessage(
    id,
    `SET #status = :sent, #provider = :provider, #providerMessageId = :pmid, #updatedAt = :at, ${appendHistory}, ${SET_MARKERS} REMOVE #claimToken, #claimExpiresAt`,
    '#claimToken = :token AND #status = :sending',
    {
      ':sent': 'sent',
      ':provider': provider,
      ':pmid': pmid,
      ':at': at,
      ':empty': [],
      ':entry': [entry],
      ':token': token,
      ':sending': 'sending',
    },
  );
  if (first.ok) return;
  // The provider's callback got here first: record who sent it, `sent` placed before the callback's entry.
  const current = first.old;
  if (current?.providerMessageId === pmid && current.provider === undefined) {
    const history: HistoryEntry[] = [...current.history];
    let index = history.length;
    while (index > 0 && history[index - 1]?.status !== 'sending') index--;
    const next = history[index];
    history.splice(index, 0, { ...entry, at: next && next.at < at ? next.at : at });
    const repaired = await updateMessage(
      id,
      `SET #provider = :provider, #history = :history, ${SET_MARKERS} REMOVE #claimToken, #claimExpiresAt`,
      '#providerMessageId = :pmid AND attribute_not_exists(#provider)',
      { ':provider': provider, ':history': history, ':pmid': pmid },
    );
    if (repaired.ok) return;
  }
  console.error(
    JSON.stringify({ level: 'ERROR', message: 'provider accepted a message whose claim was lost', id }),
  );
}

type Phase = 'closed' | 'open' | 'half-open';
async function phases(now: number): Promise<Map<string, Phase>> {
  const { Responses } = await doc.send(
    new BatchGetCommand({
      RequestItems: { [TABLE]: { Keys: providers.map((p) => breakerKey(p.name)), ConsistentRead: true } },
    }),
  );
  const states = new Map((Responses?.[TABLE] ?? []).map((s) => [s.provider as string, s]));
  const out = new Map<string, Phase>();
  for (const { name } of providers) {
    const s = states.get(name);
    const failures = (s?.failures as number | undefined) ?? 0;
    lastFailures.set(name, failures);
    out.set(
      name,
      failures < THRESHOLD ? 'closed' : ((s?.openUntil as number) ?? 0) > now ? 'open' : 'half-open',
    );
  }
  return out;
}

const breakerUpdate = (name: string, update: string, values: Record<string, unknown>, condition?: string) =>
  doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: breakerKey(name),
      UpdateExpression: update,
      ...(condition ? { ConditionExpression: condition } : {}),
      ExpressionAttributeNames: namesOf(update, condition),
      ExpressionAttributeValues: {
        ':p': name,
        ':e': BREAKER_MARKERS.__edb_e__,
        ':v': BREAKER_MARKERS.__edb_v__,
        ...values,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
const BREAKER_SET = '#provider = :p, #__edb_e__ = :e, #__edb_v__ = :v';

async function tryProbe(name: string, now: number): Promise<boolean> {
  try {
    await breakerUpdate(
      name,
      `SET #probeUntil = :until, #updatedAt = :at, ${BREAKER_SET}`,
      { ':until': now + PROBE_MS, ':at': new Date(now).toISOString(), ':now': now },
      'attribute_exists(#pk) AND (attribute_not_exists(#probeUntil) OR #probeUntil <= :now) AND ' +
        '(attribute_not_exists(#openUntil) OR #openUntil <= :now)',
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

async function recordFailure(name: string, now: number) {
  const { Attributes } = await breakerUpdate(
    name,
    `SET ${BREAKER_SET}, #updatedAt = :at ADD #failures :one`,
    {
      ':at': new Date(now).toISOString(),
      ':one': 1,
    },
  );
  const failures = (Attributes?.failures as number | undefined) ?? 0;
  lastFailures.set(name, failures);
  if (failures < THRESHOLD) return;
  await breakerUpdate(
    name,
    `SET #openUntil = :until, ${BREAKER_SET}`,
    { ':until': now + OPEN_MS, ':now': now },
    'attribute_exists(#pk) AND (attribute_not_exists(#openUntil) OR #openUntil <= :now)',
  ).catch((error: unknown) => {
    if (!isConditionFailure(error)) throw error;
  });
}

async function recordSuccess(name: string, now: number) {
  if ((lastFailures.get(name) ?? 0) === 0) return;
  await breakerUpdate(
    name,
    `SET #failures = :zero, #updatedAt = :at, ${BREAKER_SET} REMOVE #openUntil, #probeUntil`,
    {
      ':zero': 0,
      ':at': new Date(now).toISOString(),
    },
  );
  lastFailures.set(name, 0);
}

function order(isOpen: (name: string) => boolean): string[] {
  const closed = providers.filter((p) => !isOpen(p.name));
  const pool = [...(closed.length > 0 ? closed : providers)];
  const out: string[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, p) => sum + p.weight, 0);
    let index = 0;
    if (total > 0) {
      let ticket = Math.random() * total;
      index = pool.findIndex((p) => {
        ticket -= p.weight;
        return ticket < 0;
      });
      if (index < 0) index = pool.length - 1;
      while (pool[index]?.weight === 0) index = (index + 1) % pool.length;
    }
    const [chosen] = pool.splice(index, 1);
    if (chosen) out.push(chosen.name);
  }
  return out;
}

type SmsResult =
  | { kind: 'accepted'; messageId: string }
  | { kind: 'unavailable' | 'rejected'; detail: string };
async function callProvider(url: string, body: unknown): Promise<SmsResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const name = (error as { name?: string }).name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return { kind: 'unavailable', detail: timedOut ? `no answer within ${TIMEOUT_MS} ms` : 'network error' };
  }
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'unavailable', detail: `answered ${response.status}` };
  }
  if (response.status !== 200 && response.status !== 201 && response.status !== 202) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'rejected', detail: `answered ${response.status}` };
  }
  const id = ((await response.json().catch(() => null)) as { message_id?: unknown } | null)?.message_id;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256)
    return { kind: 'rejected', detail: 'answered without a message_id' };
  return { kind: 'accepted', messageId: id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function send(id: string, receiveCount: number, leaseMs: number): Promise<Outcome> {
  // Everything that can fail for reasons of our own happens before the claim, so it cannot strand one.
  const callbackUrl = `${CALLBACK_BASE}/messages/delivery_status?token=${encodeURIComponent(callbackToken(await callbackSecret(), id))}`;
  const token = randomUUID();
  const now = Date.now();
  const at = new Date(now).toISOString();
  const claim = await updateMessage(
    id,
    `SET #status = :sending, #claimToken = :token, #claimExpiresAt = :until, #updatedAt = :at, ${appendHistory}, ${SET_MARKERS} ADD #attempts :one`,
    '#status = :queued OR (#status = :sending AND (attribute_not_exists(#claimExpiresAt) OR #claimExpiresAt < :now)) ' +
      'OR (#status = :failed AND attribute_not_exists(#providerMessageId))',
    {
      ':sending': 'sending',
      ':token': token,
      ':until': now + leaseMs,
      ':at': at,
      ':empty': [],
      ':entry': [{ status: 'sending', at }],
      ':one': 1,
      ':queued': 'queued',
      ':now': now,
      ':failed': 'failed',
    },
  );
  if (!claim.ok) {
    const current = claim.old;
    if (!current || current.providerMessageId !== undefined) return 'done';
    return current.status === 'sending' ? 'busy' : 'done';
  }
  const message = claim.item as MessageRow;

  const { Item: suppressed } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: suppressionKey(message.toNumber) }),
  );
  if (suppressed?.__edb_e__ === 'suppression') {
    await finish(id, token, new Date().toISOString(), 'failed', 'the number was reported invalid; not sent');
    return 'suppressed';
  }
  const phase = await phases(Date.now()).catch(() => new Map<string, Phase>());
  const failures: string[] = [];
  for (const name of order((n) => phase.get(n) === 'open')) {
    const provider = providers.find((p) => p.name === name);
    if (!provider) continue;
    if (phase.get(name) === 'half-open' && !(await tryProbe(name, Date.now()).catch(() => true))) {
      failures.push(`${name} skipped (recovering; another sender is probing it)`);
      continue;
    }
    const result = await callProvider(provider.url, {
      to_number: message.toNumber,
      message: message.message,
      callback_url: callbackUrl,
    });
    if (result.kind === 'accepted') {
      await markSent(id, token, name, result.messageId, new Date().toISOString());
      await recordSuccess(name, Date.now()).catch(() => undefined);
      return 'sent';
    }
    failures.push(`${name} ${result.detail}`);
    if (result.kind === 'unavailable') await recordFailure(name, Date.now()).catch(() => undefined);
  }
  const end = new Date().toISOString();
  const summary = failures.join('; ') || 'no provider configured';
  if (receiveCount >= MAX_RECEIVES) {
    await finish(
      id,
      token,
      end,
      'failed',
      `all providers failed on the last attempt (${receiveCount}): ${summary}`,
    );
    return 'failed';
  }
  await finish(id, token, end, 'sending', `attempt ${receiveCount} failed, will retry: ${summary}`);
  return 'retry';
}

export const handler = async (
  event: { Records?: SqsRecord[] },
  context?: { getRemainingTimeInMillis?: () => number },
) => {
  const failed: { itemIdentifier: string }[] = [];
  await Promise.all(
    (event.Records ?? []).map(async (record) => {
      try {
        let id: unknown;
        try {
          id = (JSON.parse(record.body) as { id?: unknown } | null)?.id;
        } catch {}
        if (typeof id !== 'string' || !UUID.test(id)) throw new Error('unreadable dispatch-send record');
        const count = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
        const leaseMs = Math.max(LEASE_MS, (context?.getRemainingTimeInMillis?.() ?? 0) + 10_000);
        const outcome = await send(id, count, leaseMs);
        if (outcome !== 'busy' && outcome !== 'retry' && outcome !== 'failed') return;
        if (outcome === 'retry' && BACKOFF)
          await sqs
            .send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: env.SQS_QUEUE_URL,
                ReceiptHandle: record.receiptHandle,
                VisibilityTimeout: Math.min(43_200, Math.min(900, BACKOFF * 2 ** Math.max(0, count - 1))),
              }),
            )
            .catch(() => undefined);
        throw new Error(`send ${id}: ${outcome}`);
      } catch {
        failed.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return { batchItemFailures: failed };
};
