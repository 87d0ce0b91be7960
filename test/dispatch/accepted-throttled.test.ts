// The duplicate-SMS path (SPEC §5 "handed to a provider at most once", §8): a provider accepts, then the
// table throttles the message's `sent` write past the SDK's retries. A redelivery after the claim's lease
// must not hand the message to a provider again. DynamoDB Local behind a proxy that throttles chosen writes.
import { callbackToken } from '@svc/dispatch/callback-token';
import { applyDeliveryStatus, findMessage, getMessage, receiveDeliveryStatus } from '@svc/dispatch/messages';
import type { SendJob } from '@svc/dispatch/queue';
import { processSendJob } from '@svc/dispatch/sender';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { awsJsonAnswer, startAwsProxy } from '../support/aws-proxy.js';
import { fakeProvider, queuedMessage, senderWith } from './support.js';

const upstream = process.env.AWS_ENDPOINT_URL_DYNAMODB;
if (!upstream) throw new Error('the global setup exports AWS_ENDPOINT_URL_DYNAMODB');

/** Which writes are throttled: the message's `sent` write, and/or the acceptance item. */
const throttle = { sent: false, acceptance: false };
const throttled = { sent: 0, acceptance: 0 };
/** The next `count` writes to one message's item that set `status` to `to` are throttled (a busy moment). */
const briefly = { id: '', to: '', count: 0, refused: 0 };
const proxy = await startAwsProxy(upstream, {
  before: ({ operation, body }) => {
    const text = body.toString('utf8');
    if (
      briefly.count > 0 &&
      operation === 'UpdateItem' &&
      text.includes(briefly.id) &&
      text.includes(`"S":"${briefly.to}"`)
    ) {
      briefly.count -= 1;
      briefly.refused += 1;
      return awsJsonAnswer(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'Injected: the partition is over its throughput for a moment.',
      });
    }
    const isSent = operation === 'UpdateItem' && text.includes('"S":"sent"');
    const isAcceptance = operation === 'PutItem' && text.includes('$dispatch#messageid_');
    if ((throttle.sent && isSent) || (throttle.acceptance && isAcceptance)) {
      throttled[isSent ? 'sent' : 'acceptance'] += 1;
      return awsJsonAnswer(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'Injected: the partition is over its throughput.',
      });
    }
    return undefined;
  },
});
// Read when the shared client is first made (below, by the first table call of this file).
process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
afterAll(() => proxy.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const acceptedCalls = (...ps: ReturnType<typeof fakeProvider>[]) =>
  ps.flatMap((p) => p.calls.filter((c) => c.result.kind === 'accepted'));
const acceptedId = (p: ReturnType<typeof fakeProvider>) => {
  const result = acceptedCalls(p)[0]?.result;
  return result?.kind === 'accepted' ? result.messageId : undefined;
};

describe('a provider acceptance the table refuses to record', () => {
  beforeEach(() => {
    throttle.sent = false;
    throttle.acceptance = false;
    throttled.sent = 0;
    throttled.acceptance = 0;
  });

  it('is kept apart: a redelivery after the lease records sent and calls no provider', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('throttled after acceptance');
    throttle.sent = true;
    const deps = senderWith(p1, p2, { leaseMs: 100 });
    // The record is acknowledged: the provider took it.
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    expect(throttled.sent).toBeGreaterThan(0);
    expect((await findMessage(m.id))?.status).toBe('sending');
    await sleep(150); // the lease runs out

    // Another copy of the job (a duplicate delivery, a DLQ replay), while the table still throttles `sent`:
    // it must not send, and it must come back later (the write is still owed).
    await expect(processSendJob(m.job, 2, deps)).rejects.toThrow();
    expect(acceptedCalls(p1, p2)).toHaveLength(1);

    // The table recovers; the next copy after the lease records `sent` from the kept acceptance.
    throttle.sent = false;
    await sleep(150);
    expect(await processSendJob(m.job, 3, deps)).toBe('done');
    expect(acceptedCalls(p1, p2)).toHaveLength(1);
    const stored = await getMessage(m.id);
    expect(stored).toMatchObject({
      status: 'sent',
      provider: 'provider1',
      provider_message_id: acceptedId(p1),
    });
    // And any later copy does nothing at all.
    expect(await processSendJob(m.job, 4, deps)).toBe('done');
    expect(acceptedCalls(p1, p2)).toHaveLength(1);
  });

  it('goes onto the queue when the acceptance item is refused too, and that job records sent without a send', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('throttled twice');
    throttle.sent = true;
    throttle.acceptance = true;
    const requeued: SendJob[] = [];
    const deps = senderWith(p1, p2, {
      leaseMs: 60_000,
      requeue: async (job) => {
        requeued.push(job);
      },
    });
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    expect(throttled.acceptance).toBeGreaterThan(0);
    expect(requeued).toEqual([
      {
        id: m.id,
        accepted: {
          provider: 'provider1',
          providerMessageId: acceptedId(p1),
          at: expect.any(String),
        },
      },
    ]);
    // While the table throttles, the queued acceptance fails and stays on the queue (SQS retries it).
    await expect(processSendJob(requeued[0] as SendJob, 1, deps)).rejects.toThrow();
    throttle.sent = false;
    throttle.acceptance = false;
    expect(await processSendJob(requeued[0] as SendJob, 2, deps)).toBe('done');
    expect(await getMessage(m.id)).toMatchObject({ status: 'sent', provider: 'provider1' });
    // Applying it again (SQS delivers at least once) changes nothing; the original job does nothing.
    expect(await processSendJob(requeued[0] as SendJob, 3, deps)).toBe('done');
    expect(await processSendJob(m.job, 2, deps)).toBe('done');
    expect(acceptedCalls(p1, p2)).toHaveLength(1);
    expect((await getMessage(m.id)).history.filter((h) => h.status === 'sent')).toHaveLength(1);
  });

  it('a queued acceptance that arrives after the delivery callback only fills in the provider', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('callback first');
    throttle.sent = true;
    throttle.acceptance = true;
    const requeued: SendJob[] = [];
    const deps = senderWith(p1, p2, { requeue: async (job) => void requeued.push(job) });
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    throttle.sent = false;
    throttle.acceptance = false;
    const providerMessageId = acceptedId(p1);
    await applyDeliveryStatus(m.id, { status: 'delivered', message_id: providerMessageId ?? '' });
    expect(await processSendJob(requeued[0] as SendJob, 1, deps)).toBe('done');
    const stored = await getMessage(m.id);
    expect(stored).toMatchObject({ status: 'delivered', provider: 'provider1' });
    expect(stored.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent', 'delivered']);
  });
});

// Throttling that outlasts the SDK's own 3 attempts (its retries of a throttled write come within ~1.5 s) but
// not a few seconds more: the message's writes are retried with a jittered backoff in place, instead of the
// sender giving the record back to SQS (minutes of visibility timeout in AWS, the DLQ after 3 receives) or
// the callback answering 503 to a provider that may never call again (issue 16's scale model: messages left
// `sent` for good).
describe('a message item throttled for a moment', () => {
  it('the claim is retried in place: the first receive sends, once', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('claim throttled');
    Object.assign(briefly, { id: m.id, to: 'sending', count: 4, refused: 0 });
    expect(await processSendJob(m.job, 1, senderWith(p1, p2))).toBe('sent');
    expect(briefly.refused).toBe(4);
    expect(acceptedCalls(p1, p2)).toHaveLength(1);
    expect((await getMessage(m.id)).status).toBe('sent');
  }, 30_000);

  it('the delivery callback is retried in place: applied, not a 503', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('callback throttled');
    expect(await processSendJob(m.job, 1, senderWith(p1, p2))).toBe('sent');
    const providerMessageId = acceptedId(p1) ?? acceptedId(p2) ?? '';
    Object.assign(briefly, { id: m.id, to: 'delivered', count: 4, refused: 0 });
    const secret = 'callback-secret';
    await expect(
      receiveDeliveryStatus(callbackToken(secret, m.id), secret, {
        status: 'delivered',
        message_id: providerMessageId,
      }),
    ).resolves.toEqual({ id: m.id, status: 'delivered', changed: true });
    expect(briefly.refused).toBe(4);
    expect((await getMessage(m.id)).status).toBe('delivered');
  }, 30_000);
});
