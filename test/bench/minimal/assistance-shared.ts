// Assistance twins: the real request item of packages/assistance/src/entities.ts and the delivery
// workflow of delivery.ts (claim, send, record), with the bare SDK.
import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';

/** ElectroDB's key of request `requestId` (service "assistance", entity "request", v1; lowercased). */
export const requestKey = (requestId: string) => ({
  pk: `$assistance#requestid_${requestId}`.toLowerCase(),
  sk: '$request_1',
});
export const EDB_MARKERS = { __edb_e__: 'request', __edb_v__: '1' };

export const sqs = new SQSClient({ maxAttempts: 3 });

/** `slack` → QUEUE_URL_ASSISTANCE_SLACK (the channel's queue is `assistance-<channel>`). */
export const queueUrlOf = (channel: string) =>
  process.env[`QUEUE_URL_ASSISTANCE_${channel.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`] ?? '';

export const enqueue = (requestId: string, channel: string) =>
  sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrlOf(channel),
      MessageBody: JSON.stringify({ requestId, channel }),
    }),
  );

export interface Delivery {
  id: string;
  topic: string;
  description: string;
  createdAt: string;
}

export type Outcome =
  | { kind: 'sent' }
  | { kind: 'retry'; reason: string; afterSeconds?: number }
  | { kind: 'permanent'; reason: string }
  | { kind: 'unknown'; reason: string };

export type Send = (request: Delivery, settings: Record<string, unknown>) => Promise<Outcome>;

interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

const MAX_RECEIVE_COUNT = Number(process.env.SQS_MAX_RECEIVE_COUNT ?? '3') || 3;
const CLAIM_MARGIN_MS = 5_000;

const isConditionFailure = (error: unknown) =>
  (error as { name?: string }).name === 'ConditionalCheckFailedException';

/** A conditional update of the request item, with ElectroDB's markers and its item-exists condition. */
function patch(
  requestId: string,
  set: Record<string, unknown>,
  options: {
    add?: Record<string, number>;
    remove?: string[];
    where?: string;
    values?: Record<string, unknown>;
  } = {},
) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ...options.values };
  const sets: string[] = [];
  for (const [k, v] of Object.entries({ ...set, requestId, ...EDB_MARKERS })) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  let expression = `SET ${sets.join(', ')}`;
  if (options.remove?.length) {
    for (const k of options.remove) names[`#${k}`] = k;
    expression += ` REMOVE ${options.remove.map((k) => `#${k}`).join(', ')}`;
  }
  if (options.add) {
    for (const [k, v] of Object.entries(options.add)) {
      names[`#${k}`] = k;
      values[`:${k}`] = v;
    }
    expression += ` ADD ${Object.keys(options.add)
      .map((k) => `#${k} :${k}`)
      .join(', ')}`;
  }
  for (const k of ['status', 'channel', 'claimToken'])
    if (options.where?.includes(`#${k}`)) names[`#${k}`] = k;
  return doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: requestKey(requestId),
      UpdateExpression: expression,
      ConditionExpression: `attribute_exists(pk) AND attribute_exists(sk)${options.where ? ` AND ${options.where}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

const CLAIM = ['claimToken', 'claimExpiresAt'];
const heldBy = (token: string) => ({ where: '#claimToken = :held', values: { ':held': token } });

const getRequest = async (requestId: string) =>
  (await doc.send(new GetCommand({ TableName: TABLE, Key: requestKey(requestId), ConsistentRead: true })))
    .Item;

async function markFailed(requestId: string, token: string, reason: string, lastError: string) {
  await patch(
    requestId,
    { status: 'failed', failureReason: reason, lastError: lastError.slice(0, 500) },
    { remove: CLAIM, ...heldBy(token) },
  ).catch((error: unknown) => {
    if (!isConditionFailure(error)) throw error;
  });
}

async function queueFallback(requestId: string, channel: string) {
  await enqueue(requestId, channel);
  await patch(
    requestId,
    {},
    {
      remove: ['fallbackPending'],
      where: '#status = :queued AND #channel = :to',
      values: { ':queued': 'queued', ':to': channel },
    },
  ).catch(() => undefined);
}

/** One record: the real `deliver` (delivery.ts). Returns false when the record must come back later. */
async function deliverOne(
  channel: string,
  send: Send,
  record: SqsRecord,
  remainingMs: number,
): Promise<boolean> {
  const message = JSON.parse(record.body) as { requestId: string };
  const requestId = message.requestId;
  const request = await getRequest(requestId);
  if (request?.status !== 'queued') return true;
  if (request.channel !== channel) {
    if (request.fallbackPending && request.fallbackFrom === channel)
      await queueFallback(requestId, request.channel);
    return true;
  }
  const token = randomUUID();
  try {
    await patch(
      requestId,
      { claimToken: token, claimExpiresAt: Date.now() + remainingMs + CLAIM_MARGIN_MS },
      {
        add: { attempts: 1 },
        remove: ['fallbackPending'],
        where: '#status = :queued AND #channel = :mine AND attribute_not_exists(#claimToken)',
        values: { ':queued': 'queued', ':mine': channel },
      },
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const current = await getRequest(requestId);
    if (current?.status !== 'queued' || current.channel !== channel || !current.claimToken) return true;
    const expiresAt = Number(current.claimExpiresAt ?? 0);
    if (Date.now() < expiresAt) {
      await postpone(channel, record, Math.ceil((expiresAt - Date.now()) / 1000));
      return false;
    }
    await markFailed(requestId, current.claimToken, 'outcome_unknown', 'an earlier attempt ended mid-send');
    return true;
  }
  let outcome: Outcome;
  try {
    outcome = await send(
      {
        id: request.requestId,
        topic: request.topic,
        description: request.description,
        createdAt: request.createdAt,
      },
      request.settings ?? {},
    );
  } catch (error) {
    outcome = { kind: 'unknown', reason: `sender threw: ${(error as Error)?.message ?? String(error)}` };
  }
  if (outcome.kind === 'sent') {
    await patch(
      requestId,
      { status: 'delivered', deliveredAt: new Date().toISOString() },
      { remove: CLAIM, ...heldBy(token) },
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
    return true;
  }
  if (outcome.kind === 'unknown') {
    await markFailed(requestId, token, 'outcome_unknown', outcome.reason);
    return true;
  }
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
  if (outcome.kind === 'retry' && receiveCount < MAX_RECEIVE_COUNT) {
    await patch(requestId, { lastError: outcome.reason.slice(0, 500) }, { remove: CLAIM, ...heldBy(token) });
    if (outcome.afterSeconds !== undefined) await postpone(channel, record, outcome.afterSeconds);
    return false;
  }
  // Failed for good here: the rule's fallback once, else failed.
  const fallback = request.fallback as { channel: string; settings: unknown } | undefined;
  if (!fallback || request.fallbackFrom) {
    await markFailed(requestId, token, 'delivery_failed', outcome.reason);
    return true;
  }
  await patch(
    requestId,
    {
      channel: fallback.channel,
      settings: fallback.settings,
      fallbackFrom: channel,
      fallbackPending: true,
      lastError: outcome.reason.slice(0, 500),
    },
    { remove: CLAIM, ...heldBy(token) },
  );
  await queueFallback(requestId, fallback.channel);
  return true;
}

async function postpone(channel: string, record: SqsRecord, seconds: number) {
  await sqs
    .send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrlOf(channel),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(43_200, Math.max(0, Math.ceil(seconds))),
      }),
    )
    .catch(() => undefined);
}

/** The channel consumer: records one by one, a partial batch response for those to retry. */
export const consumer =
  (channel: string, send: Send) =>
  async (event: { Records: SqsRecord[] }, context?: { getRemainingTimeInMillis?: () => number }) => {
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const record of event.Records) {
      let done = false;
      try {
        done = await deliverOne(channel, send, record, context?.getRemainingTimeInMillis?.() ?? 30_000);
      } catch (error) {
        console.error('delivery failed', error);
      }
      if (!done) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  };
