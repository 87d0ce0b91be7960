// The dispatch-status-callbacks consumer, the minimal way. Per record: one conditional UpdateItem that takes
// the message's callback lease (only for a message with a status_callback_url and no live lease) and returns
// the item; when refused, nothing else. A leased message: its reportable history entries not yet
// acknowledged, oldest first, each POSTed with X-Event-Id and X-Signature (SSM secret, 60 s cache) within
// 5 s, stopping at the first failure; then one conditional UpdateItem recording what was acknowledged and
// releasing the lease.
import { createHmac, randomUUID } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, MESSAGE_MARKERS, messageKey } from './dispatch-shared.js';
import { doc, TABLE } from './shared.js';

interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}
interface Entry {
  status: string;
  at: string;
  provider?: string;
  detail?: string;
}
interface Leased {
  id: string;
  history: Entry[];
  statusCallbackUrl: string;
  callbacksDone?: string[];
  callbackLog?: { event: string; at: string; outcome: string }[];
}

const REPORTABLE = new Set(['sent', 'delivered', 'failed', 'invalid']);
const TIMEOUT_MS = Number(process.env.STATUS_CALLBACK_TIMEOUT_MS ?? 5000);
const ssm = new SSMClient({});
let secret: { value: string; until: number } | undefined;

async function signingSecret(): Promise<string> {
  if (secret && secret.until > Date.now()) return secret.value;
  const { Parameter } = await ssm.send(
    new GetParameterCommand({
      Name: process.env.PARAM_DISPATCH_STATUS_CALLBACK_SECRET,
      WithDecryption: true,
    }),
  );
  if (!Parameter?.Value) throw new Error('status callback secret missing');
  secret = { value: Parameter.Value, until: Date.now() + 60_000 };
  return secret.value;
}

async function sync(id: string): Promise<boolean> {
  const token = randomUUID();
  const now = Date.now();
  let leased: Leased;
  try {
    const { Attributes } = await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: messageKey(id),
        UpdateExpression: 'SET #t = :t, #u = :u, #e = :e, #v = :v',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_exists(#url) AND (attribute_not_exists(#u) OR #u < :now)',
        ExpressionAttributeNames: {
          '#t': 'callbackLeaseToken',
          '#u': 'callbackLeaseUntil',
          '#url': 'statusCallbackUrl',
          '#e': '__edb_e__',
          '#v': '__edb_v__',
        },
        ExpressionAttributeValues: {
          ':t': token,
          ':u': now + 40_000,
          ':now': now,
          ':e': MESSAGE_MARKERS.__edb_e__,
          ':v': MESSAGE_MARKERS.__edb_v__,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    leased = Attributes as Leased;
  } catch (error) {
    if (isConditionFailure(error)) return true; // no URL, or another sync holds it (it sees this change)
    throw error;
  }
  const done = new Set(leased.callbacksDone ?? []);
  const seen = new Map<string, number>();
  const events = [...leased.history]
    .map((h, i) => ({ h, i }))
    .sort((x, y) => (x.h.at < y.h.at ? -1 : x.h.at > y.h.at ? 1 : x.i - y.i))
    .filter(({ h }) => REPORTABLE.has(h.status))
    .map(({ h }) => {
      const n = (seen.get(h.status) ?? 0) + 1;
      seen.set(h.status, n);
      return { key: `${h.status}#${n}`, entry: h };
    });
  const newest = events.reduce((last, e, i) => (done.has(e.key) ? i : last), -1);
  const log: { event: string; at: string; outcome: string }[] = [];
  let ok = true;
  for (const { key, entry } of events.slice(newest + 1).filter((e) => !done.has(e.key))) {
    const raw = JSON.stringify({ id, ...entry });
    const t = Math.floor(Date.now() / 1000);
    const mac = createHmac('sha256', await signingSecret())
      .update(`${t}.${raw}`)
      .digest('hex');
    const status = await fetch(leased.statusCallbackUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/json',
        'x-event-id': `${id}:${key}`,
        'x-signature': `t=${t},v1=${mac}`,
      },
      body: raw,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).then(
      (r) => r.status,
      () => 0,
    );
    log.push({ event: key, at: new Date().toISOString(), outcome: `answered ${status}` });
    if (status < 200 || status > 299) {
      ok = false;
      break;
    }
    done.add(key);
  }
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: messageKey(id),
      UpdateExpression: 'SET #d = :d, #l = :l REMOVE #t, #u',
      ConditionExpression: '#t = :t',
      ExpressionAttributeNames: {
        '#d': 'callbacksDone',
        '#l': 'callbackLog',
        '#t': 'callbackLeaseToken',
        '#u': 'callbackLeaseUntil',
      },
      ExpressionAttributeValues: {
        ':d': [...done],
        ':l': [...(leased.callbackLog ?? []), ...log].slice(-60),
        ':t': token,
      },
    }),
  );
  return ok;
}

export const handler = async (event: { Records: SqsRecord[] }) => {
  const failures: { itemIdentifier: string }[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        const { id } = JSON.parse(record.body) as { id: string };
        if (!(await sync(id))) failures.push({ itemIdentifier: record.messageId });
      } catch {
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return { batchItemFailures: failures };
};
