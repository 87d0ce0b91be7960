import { randomUUID } from 'node:crypto';
import { dynamoCircuitBreaker } from '@svc/dispatch/breaker';
import { dispatchDb } from '@svc/dispatch/entities';
import { applyDeliveryStatus, findMessage, getMessage } from '@svc/dispatch/messages';
import { processSendJob } from '@svc/dispatch/sender';
import { conditionFailureItem, isConditionFailure, OLD_ITEM_ON_CONDITION_FAILURE } from '@svc/platform';
import { describe, expect, it } from 'vitest';
import { down, fakeProvider, ok, queuedMessage, senderWith, uniqueNumber } from './support.js';

const accepted = (p: ReturnType<typeof fakeProvider>, id?: string) =>
  p.calls.filter((c) => c.result.kind === 'accepted' && (id === undefined || c.messageId === id));

describe('sender against DynamoDB Local', () => {
  it('claims the message, hands it to the weighted provider and records it as sent', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage('hello there');
    const outcome = await processSendJob(m.job, 1, senderWith(p1, p2, { random: () => 0.5 }));
    expect(outcome).toBe('sent');
    expect(p1.calls).toHaveLength(0);
    expect(p2.calls).toHaveLength(1);
    expect(p2.calls[0]?.request).toMatchObject({ toNumber: m.to_number, message: 'hello there' });
    const stored = await getMessage(m.id);
    expect(stored).toMatchObject({
      status: 'sent',
      provider: 'provider2',
      provider_message_id: (p2.calls[0]?.result as { messageId?: string } | undefined)?.messageId,
    });
    expect(stored.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent']);
    expect(stored.history[2]?.provider).toBe('provider2');
    const item = await findMessage(m.id);
    expect(item?.claimToken).toBeUndefined();
  });

  it('fails over to the other provider on an outage and records both', async () => {
    const [p1, p2] = [fakeProvider('provider1', down), fakeProvider('provider2')];
    const deps = senderWith(p1, p2, { random: () => 0 });
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    expect(p1.calls).toHaveLength(1);
    expect(accepted(p2)).toHaveLength(1);
    expect((await getMessage(m.id)).provider).toBe('provider2');
    expect((deps.breaker as unknown as { failures: string[] }).failures).toEqual(['provider1']);
  });

  it('fails over on a rejection too, without counting it against the breaker', async () => {
    const p1 = fakeProvider('provider1', () => ({ kind: 'rejected', detail: 'answered 400' }));
    const p2 = fakeProvider('provider2');
    const deps = senderWith(p1, p2);
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    expect((deps.breaker as unknown as { failures: string[] }).failures).toEqual([]);
  });

  it('leaves the message for a retry while attempts remain, then marks it failed on the last receive', async () => {
    const [p1, p2] = [fakeProvider('provider1', down), fakeProvider('provider2', down)];
    const deps = senderWith(p1, p2);
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 1, deps)).toBe('retry');
    let item = await findMessage(m.id);
    expect(item?.status).toBe('sending');
    expect(item?.claimToken).toBeUndefined();
    expect(await processSendJob(m.job, 2, deps)).toBe('retry');
    expect(await processSendJob(m.job, 3, deps)).toBe('failed');
    item = await findMessage(m.id);
    expect(item?.status).toBe('failed');
    expect(item?.attempts).toBe(3);
    expect(p1.calls).toHaveLength(3);
    expect(p2.calls).toHaveLength(3);
    const history = (await getMessage(m.id)).history;
    expect(history.at(-1)).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('provider2 answered 500'),
    });
  });

  it('sends a failed message again when the DLQ is replayed, exactly once', async () => {
    const [p1, p2] = [fakeProvider('provider1', down), fakeProvider('provider2', down)];
    const deps = senderWith(p1, p2);
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 3, deps)).toBe('failed');
    p1.behaviour = ok;
    p2.behaviour = ok;
    // Replayed from the DLQ: a fresh SQS message, and the same one again (at-least-once delivery).
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    expect(await processSendJob(m.job, 1, deps)).toBe('done');
    expect(accepted(p1).length + accepted(p2).length).toBe(1);
    const stored = await getMessage(m.id);
    expect(stored.status).toBe('sent');
    expect(stored.history.map((h) => h.status)).toEqual(['queued', 'sending', 'failed', 'sending', 'sent']);
  });

  it('does nothing for a redelivery of a message a provider already accepted', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const deps = senderWith(p1, p2);
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 1, deps)).toBe('sent');
    for (const count of [1, 2, 3, 4]) expect(await processSendJob(m.job, count, deps)).toBe('done');
    expect(p1.calls.length + p2.calls.length).toBe(1);
  });

  it('does not resend a message the provider reported failed (accepted once is final)', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const deps = senderWith(p1, p2);
    const m = await queuedMessage();
    await processSendJob(m.job, 1, deps);
    const pmid = (await findMessage(m.id))?.providerMessageId as string;
    await applyDeliveryStatus(m.id, { status: 'failed', message_id: pmid });
    expect(await processSendJob(m.job, 1, deps)).toBe('done');
    expect(p1.calls.length + p2.calls.length).toBe(1);
  });

  it('answers busy while another sender holds a live claim, and takes over once the lease ran out', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const p1 = fakeProvider('provider1', async () => {
      await gate;
      return { kind: 'unavailable', detail: 'answered 502' };
    });
    const p2 = fakeProvider('provider2', async () => {
      await gate;
      return { kind: 'unavailable', detail: 'answered 502' };
    });
    const m = await queuedMessage();
    const first = processSendJob(m.job, 1, senderWith(p1, p2));
    // Wait for the first sender to hold the claim.
    for (let i = 0; i < 100 && (await findMessage(m.id))?.status !== 'sending'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const [q1, q2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    expect(await processSendJob(m.job, 1, senderWith(q1, q2))).toBe('busy');
    expect(q1.calls.length + q2.calls.length).toBe(0);
    // A sender that comes after the lease (here: a clock 10 minutes ahead) may claim it.
    const later = senderWith(q1, q2, { now: () => Date.now() + 600_000 });
    expect(await processSendJob(m.job, 1, later)).toBe('sent');
    release();
    // The first sender lost its claim: it must not record anything over the newer state.
    expect(await first).toBe('retry');
    expect((await findMessage(m.id))?.status).toBe('sent');
  });

  it('refuses to send to a number reported invalid meanwhile, without calling a provider', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const deps = senderWith(p1, p2);
    const number = uniqueNumber();
    const first = await queuedMessage('one', number);
    const second = await queuedMessage('two', number);
    await processSendJob(first.job, 1, deps);
    const pmid = (await findMessage(first.id))?.providerMessageId as string;
    await applyDeliveryStatus(first.id, { status: 'invalid', message_id: pmid });
    expect(await processSendJob(second.job, 1, deps)).toBe('suppressed');
    expect(p1.calls.length + p2.calls.length).toBe(1);
    expect((await getMessage(second.id)).status).toBe('failed');
  });

  it('claims nothing when its own configuration (the callback secret) cannot be read', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    const m = await queuedMessage();
    const broken = senderWith(p1, p2, { callbackUrl: () => Promise.reject(new Error('SSM unavailable')) });
    await expect(processSendJob(m.job, 1, broken)).rejects.toThrow('SSM unavailable');
    expect((await findMessage(m.id))?.status).toBe('queued');
    expect(await processSendJob(m.job, 2, senderWith(p1, p2))).toBe('sent');
  });

  it('a refused conditional write hands back the item as it was, so the refusal needs no second read', async () => {
    const m = await queuedMessage('refused');
    const refuse = (params?: typeof OLD_ITEM_ON_CONDITION_FAILURE) =>
      dispatchDb()
        .entities.message.patch({ id: m.id })
        .set({ status: 'sending' })
        .where((a, op) => op.eq(a.status, 'delivered'))
        .go(params ? { params } : {})
        .then(
          () => undefined,
          (error: unknown) => error,
        );
    const asked = await refuse(OLD_ITEM_ON_CONDITION_FAILURE);
    expect(isConditionFailure(asked)).toBe(true);
    expect(conditionFailureItem(asked)).toMatchObject({ id: m.id, status: 'queued', message: 'refused' });
    const notAsked = await refuse();
    expect(isConditionFailure(notAsked)).toBe(true);
    expect(conditionFailureItem(notAsked)).toBeUndefined();
  });

  it('ignores a job for a message that does not exist', async () => {
    const [p1, p2] = [fakeProvider('provider1'), fakeProvider('provider2')];
    expect(await processSendJob({ id: randomUUID() }, 1, senderWith(p1, p2))).toBe('done');
    expect(p1.calls.length + p2.calls.length).toBe(0);
  });

  it('keeps the provider when its delivery callback overtakes the sender', async () => {
    let pmid = '';
    const p1 = fakeProvider('provider1', async (request) => {
      pmid = randomUUID();
      const id = new URL(request.callbackUrl).searchParams.get('id') as string;
      await applyDeliveryStatus(id, { status: 'delivered', message_id: pmid });
      return { kind: 'accepted', messageId: pmid };
    });
    const m = await queuedMessage();
    expect(await processSendJob(m.job, 1, senderWith(p1, fakeProvider('provider2')))).toBe('sent');
    const stored = await getMessage(m.id);
    expect(stored).toMatchObject({ status: 'delivered', provider: 'provider1', provider_message_id: pmid });
    expect(stored.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent', 'delivered']);
    expect((await findMessage(m.id))?.claimToken).toBeUndefined();
  });

  it('hands 100 messages delivered 3 times each, all at once, to a provider exactly once each', async () => {
    const p1 = fakeProvider('provider1', async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      return ok({ toNumber: '', message: '', callbackUrl: '' });
    });
    const p2 = fakeProvider('provider2', async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      return Math.random() < 0.3
        ? down({ toNumber: '', message: '', callbackUrl: '' })
        : ok({ toNumber: '', message: '', callbackUrl: '' });
    });
    const deps = senderWith(p1, p2, { random: Math.random });
    const messages = await Promise.all(Array.from({ length: 100 }, (_, i) => queuedMessage(`bulk ${i}`)));
    const deliveries = messages.flatMap((m) => [m.job, m.job, m.job]);
    const outcomes = await Promise.all(deliveries.map((job) => processSendJob(job, 1, deps)));
    // Copies that found the message busy come back later (as SQS would bring them).
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === 'busy' || outcome === 'retry')
        await processSendJob(deliveries[i] as { id: string }, 2, deps);
    }
    const all = [...accepted(p1), ...accepted(p2)];
    const perMessage = new Map<string, number>();
    for (const call of all) perMessage.set(call.messageId, (perMessage.get(call.messageId) ?? 0) + 1);
    for (const m of messages) expect(perMessage.get(m.id), m.id).toBe(1);
    expect(all).toHaveLength(100);
    const stored = await Promise.all(messages.map((m) => findMessage(m.id)));
    expect(stored.every((s) => s?.status === 'sent')).toBe(true);
  });
});

describe('DynamoDB circuit breaker', () => {
  const settings = { failureThreshold: 3, openMs: 30_000, probeMs: 5_000 };

  it('opens after consecutive failures, lets one probe through when the time is up, and closes on success', async () => {
    const name = `p-${randomUUID()}`;
    const breaker = dynamoCircuitBreaker(settings);
    const t0 = 1_000_000;
    await breaker.recordFailure(name, t0);
    await breaker.recordFailure(name, t0);
    expect((await breaker.phases([name], t0)).get(name)).toBe('closed');
    await breaker.recordFailure(name, t0);
    expect((await breaker.phases([name], t0 + 1)).get(name)).toBe('open');
    expect((await breaker.phases([name], t0 + 29_999)).get(name)).toBe('open');
    // Another instance sees the same state.
    const other = dynamoCircuitBreaker(settings);
    expect((await other.phases([name], t0 + 10_000)).get(name)).toBe('open');
    const t1 = t0 + 30_000;
    expect((await breaker.phases([name], t1)).get(name)).toBe('half-open');
    expect(await breaker.tryProbe(name, t1)).toBe(true);
    expect(await other.tryProbe(name, t1 + 1)).toBe(false);
    await breaker.recordSuccess(name, t1 + 2);
    expect((await other.phases([name], t1 + 3)).get(name)).toBe('closed');
  });

  it('re-opens for another period when the probe fails', async () => {
    const name = `p-${randomUUID()}`;
    const breaker = dynamoCircuitBreaker(settings);
    const t0 = 2_000_000;
    for (let i = 0; i < 3; i++) await breaker.recordFailure(name, t0);
    const t1 = t0 + 30_000;
    expect(await breaker.tryProbe(name, t1)).toBe(true);
    await breaker.recordFailure(name, t1 + 100);
    expect((await breaker.phases([name], t1 + 200)).get(name)).toBe('open');
    expect((await breaker.phases([name], t1 + 100 + 30_000)).get(name)).toBe('half-open');
  });

  it('does not push the deadline out with every failure while open', async () => {
    const name = `p-${randomUUID()}`;
    const breaker = dynamoCircuitBreaker(settings);
    for (let i = 0; i < 3; i++) await breaker.recordFailure(name, 0);
    await breaker.recordFailure(name, 20_000);
    expect((await breaker.phases([name], 30_000)).get(name)).toBe('half-open');
  });

  it('a success resets the count of consecutive failures', async () => {
    const name = `p-${randomUUID()}`;
    const breaker = dynamoCircuitBreaker(settings);
    await breaker.recordFailure(name, 0);
    await breaker.recordFailure(name, 0);
    await breaker.phases([name], 0);
    await breaker.recordSuccess(name, 0);
    await breaker.recordFailure(name, 0);
    await breaker.recordFailure(name, 0);
    expect((await breaker.phases([name], 1)).get(name)).toBe('closed');
  });

  it('steers the sender away from an open provider', async () => {
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    const breaker = dynamoCircuitBreaker(settings);
    const now = Date.now();
    for (let i = 0; i < 3; i++) await breaker.recordFailure(a, now);
    const [pa, pb] = [fakeProvider(a), fakeProvider(b)];
    const deps = senderWith(pa, pb, { breaker, random: () => 0 });
    for (let i = 0; i < 5; i++)
      expect(await processSendJob((await queuedMessage()).job, 1, deps)).toBe('sent');
    expect(pa.calls).toHaveLength(0);
    expect(pb.calls).toHaveLength(5);
  });
});
