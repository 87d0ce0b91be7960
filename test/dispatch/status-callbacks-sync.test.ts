import type { BreakerPhase } from '@svc/dispatch/breaker';
import { dispatchDb, type MessageItem } from '@svc/dispatch/entities';
import { findMessage, submitMessage } from '@svc/dispatch/messages';
import { type StatusCallbackJob, type SyncDeps, syncStatusCallbacks } from '@svc/dispatch/status-callbacks';
import type { MessageStatus } from '@svc/dispatch/statuses';
import type { WebhookRequest, WebhookResult } from '@svc/platform/webhooks';
import { describe, expect, it } from 'vitest';
import { closedBreaker, memoryQueue, uniqueNumber } from './support.js';

/**
 * The status-callback sync against DynamoDB Local: its lease, its ordering and its bookkeeping are
 * condition expressions, which only a real DynamoDB can prove.
 */
const URL = 'https://hooks.example.com/sms-status';

async function messageWithCallback(): Promise<string> {
  const { id } = await submitMessage(
    { to_number: uniqueNumber(), message: 'cb', status_callback_url: URL },
    { queue: memoryQueue(), checkCallbackUrl: async () => ({ ok: true }) },
  );
  return id;
}

let clock = Date.parse('2026-12-06T10:00:00.000Z');
/** Appends a status change the way the sender and the delivery-status route do. */
async function changeStatus(id: string, status: MessageStatus, provider = 'provider1') {
  clock += 1000;
  await dispatchDb()
    .entities.message.patch({ id })
    .set({ status })
    .append({ history: [{ status, at: new Date(clock).toISOString(), provider }] })
    .go();
}

function fakeWebhook(behaviour: (request: WebhookRequest) => WebhookResult | Promise<WebhookResult>) {
  const posts: WebhookRequest[] = [];
  return {
    posts,
    async post(request: WebhookRequest) {
      posts.push(request);
      return behaviour(request);
    },
  };
}

const ok = (): WebhookResult => ({ kind: 'delivered', status: 200 });

function deps(webhook: SyncDeps['webhook'], overrides: Partial<SyncDeps> = {}) {
  const queue = memoryQueue();
  return {
    queue,
    deps: {
      webhook,
      breaker: closedBreaker(),
      queue: queue as unknown as SyncDeps['queue'],
      maxReceiveCount: 3,
      leaseMs: 30_000,
      ...overrides,
    } satisfies SyncDeps,
  };
}

const statuses = (posts: WebhookRequest[]) => posts.map((p) => (p.body as { status: string }).status);
const job = (id: string): StatusCallbackJob => ({ id });

describe('syncStatusCallbacks against DynamoDB Local', () => {
  it('posts every pending status in order, once, and records each outcome', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'sent');
    await changeStatus(id, 'delivered');
    const webhook = fakeWebhook(ok);
    const { deps: d } = deps(webhook);
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('delivered');
    expect(statuses(webhook.posts)).toEqual(['sent', 'delivered']);
    expect(webhook.posts.map((p) => p.eventId)).toEqual([`${id}:sent:1`, `${id}:delivered:1`]);
    // A duplicate job changes nothing.
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('idle');
    expect(webhook.posts).toHaveLength(2);
    const stored = (await findMessage(id)) as MessageItem;
    expect(stored.callbacksDone).toEqual(['sent#1', 'delivered#1']);
    expect(stored.callbackLeaseUntil).toBeUndefined();
    expect(stored.callbackLog?.map((l) => [l.event, l.outcome])).toEqual([
      ['sent#1', 'answered 200 (attempt 1)'],
      ['delivered#1', 'answered 200 (attempt 1)'],
    ]);
  });

  it('stops at the first failure so later statuses wait behind it, then resumes in order', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'sent');
    await changeStatus(id, 'delivered');
    let answer: WebhookResult = { kind: 'failed', status: 500, detail: 'answered 500' };
    const webhook = fakeWebhook(() => answer);
    const { deps: d } = deps(webhook);
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('retry');
    expect(statuses(webhook.posts)).toEqual(['sent']);
    answer = ok();
    expect(await syncStatusCallbacks(job(id), 2, d)).toBe('delivered');
    expect(statuses(webhook.posts)).toEqual(['sent', 'sent', 'delivered']);
    const stored = (await findMessage(id)) as MessageItem;
    expect(stored.callbackLog?.map((l) => l.outcome)).toEqual([
      'answered 500 (attempt 1); will retry',
      'answered 200 (attempt 2)',
      'answered 200 (attempt 1)',
    ]);
  });

  it('gives up on the last receive (the record goes to the DLQ) and says so in the history', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'sent');
    const webhook = fakeWebhook(() => ({ kind: 'failed', detail: 'no answer within 5000 ms' }));
    const { deps: d } = deps(webhook);
    expect(await syncStatusCallbacks(job(id), 3, d)).toBe('gave-up');
    const view = (await import('@svc/dispatch/messages')).toView((await findMessage(id)) as MessageItem);
    expect(view.history.find((h) => h.status === 'sent')?.detail).toBe(
      'status callback: no answer within 5000 ms (attempt 1); gave up: in the DLQ until redriven',
    );
  });

  it('does not call a receiver whose breaker is open, and counts that as a failed attempt', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'sent');
    const webhook = fakeWebhook(ok);
    const breaker = {
      ...closedBreaker(),
      phases: async (names: readonly string[]) => new Map(names.map((n) => [n, 'open' as BreakerPhase])),
    };
    const { deps: d } = deps(webhook, { breaker });
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('retry');
    expect(webhook.posts).toEqual([]);
    expect((await findMessage(id))?.callbackLog?.[0]?.outcome).toMatch(/^not called \(attempt 1\)/);
  });

  it('skips a status older than one the receiver already has', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'delivered');
    const webhook = fakeWebhook(ok);
    const { deps: d } = deps(webhook);
    await syncStatusCallbacks(job(id), 1, d);
    // The sender's `sent` lands after the provider's callback, dated before it.
    const current = (await findMessage(id)) as MessageItem;
    const history = [...current.history];
    history.splice(1, 0, { status: 'sent', at: new Date(clock - 500).toISOString(), provider: 'provider1' });
    await dispatchDb().entities.message.patch({ id }).set({ history }).go();
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('idle');
    expect(statuses(webhook.posts)).toEqual(['delivered']);
    expect((await findMessage(id))?.callbackLog?.at(-1)).toMatchObject({
      event: 'sent#1',
      outcome: 'not sent: a later status was already reported',
    });
  });

  it('leaves a message with no callback URL alone', async () => {
    const { id } = await submitMessage({ to_number: uniqueNumber(), message: 'x' }, { queue: memoryQueue() });
    await changeStatus(id, 'sent');
    const webhook = fakeWebhook(ok);
    expect(await syncStatusCallbacks(job(id), 1, deps(webhook).deps)).toBe('idle');
    expect(webhook.posts).toEqual([]);
  });

  it('hands over a status that arrived while another sync held the message', async () => {
    const id = await messageWithCallback();
    await changeStatus(id, 'sent');
    let second: Promise<string> | undefined;
    const webhook = fakeWebhook(async (request) => {
      if ((request.body as { status: string }).status === 'sent' && !second) {
        // While this sync is on the wire: the provider's callback lands and its job arrives.
        await changeStatus(id, 'delivered');
        second = syncStatusCallbacks(job(id), 1, deps(webhook).deps);
        expect(await second).toBe('busy');
      }
      return ok();
    });
    const { deps: d, queue } = deps(webhook);
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('delivered');
    expect(statuses(webhook.posts)).toEqual(['sent']);
    // The lease holder saw the new status when it let go, and queued the message again.
    expect(queue.jobs).toEqual([{ id }]);
    expect(await syncStatusCallbacks(job(id), 1, d)).toBe('delivered');
    expect(statuses(webhook.posts)).toEqual(['sent', 'delivered']);
  });

  it('posts each status exactly once when 20 deliveries of its jobs run at once', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => messageWithCallback()));
    for (const id of ids) {
      await changeStatus(id, 'sent');
      await changeStatus(id, 'delivered');
    }
    const webhook = fakeWebhook(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return ok();
    });
    const { deps: d } = deps(webhook);
    await Promise.all(
      ids.flatMap((id) => Array.from({ length: 20 }, () => syncStatusCallbacks(job(id), 1, d))),
    );
    for (const id of ids) {
      const posted = webhook.posts.filter((p) => (p.body as { id: string }).id === id);
      expect(statuses(posted)).toEqual(['sent', 'delivered']);
    }
  });
});
