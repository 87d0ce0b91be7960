import { randomUUID } from 'node:crypto';
import type { ChannelSender, DeliveryOutcome } from '@svc/assistance';
import { type Attempt, type DeliveryDeps, deliver } from '@svc/assistance/delivery';
import { assistanceDb } from '@svc/assistance/entities';
import { getRequest, requestAssistance } from '@svc/assistance/requests';
import { parseRules } from '@svc/assistance/rules';
import type { DeliveryMessage } from '@svc/assistance/schemas';
import { describe, expect, it, vi } from 'vitest';

const rules = parseRules({
  rules: [
    {
      topic: 'sales',
      channel: 'slack',
      fallback: { channel: 'email', recipients: ['fallback@example.com'] },
    },
    { topic: 'pricing', channel: 'email', recipients: ['pricing@example.com'] },
  ],
});

const owner = 'user-1';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function newRequest(topic = 'sales') {
  const queued: DeliveryMessage[] = [];
  const accepted = await requestAssistance(
    { rules: { current: async () => rules }, enqueue: async (m) => void queued.push(m) },
    owner,
    { topic, description: 'Please call me back' },
  );
  expect(queued).toEqual([{ requestId: accepted.id, channel: accepted.channel }]);
  return accepted.id;
}

/** A sender answering from a script, one outcome per call; every call is counted. */
function scripted(...outcomes: DeliveryOutcome[]) {
  const send = vi.fn(async () => outcomes.shift() ?? ({ kind: 'sent' } as DeliveryOutcome));
  return { send } satisfies ChannelSender<unknown>;
}

function consumer(channel: string, sender: ChannelSender<unknown>, extra: Partial<DeliveryDeps> = {}) {
  const enqueued: DeliveryMessage[] = [];
  const deps: DeliveryDeps = {
    channel,
    sender,
    enqueue: async (m) => void enqueued.push(m),
    maxReceiveCount: 3,
    log: silent,
    ...extra,
  };
  const receive = (requestId: string, receiveCount = 1, more: Partial<Attempt> = {}) =>
    deliver(deps, { requestId, receiveCount, remainingMs: 30_000, ...more });
  return { receive, enqueued, deps };
}

const status = (id: string) => getRequest(owner, id);

describe('delivery', () => {
  it('delivers once; a redelivered message sends nothing again', async () => {
    const id = await newRequest();
    const sender = scripted({ kind: 'sent' });
    const slack = consumer('slack', sender);
    expect(await slack.receive(id)).toEqual({ kind: 'done', status: 'delivered' });
    expect(await slack.receive(id, 1)).toMatchObject({ kind: 'done', status: 'skipped' });
    expect(await slack.receive(id, 2)).toMatchObject({ kind: 'done', status: 'skipped' });
    expect(sender.send).toHaveBeenCalledTimes(1);
    const state = await status(id);
    expect(state).toMatchObject({ id, channel: 'slack', status: 'delivered', attempts: 1 });
    expect(Date.parse(state.delivered_at ?? '')).not.toBeNaN();
  });

  it('hands the sender the stored request and the rule settings', async () => {
    const id = await newRequest('PRICING');
    const sender = scripted({ kind: 'sent' });
    await consumer('email', sender).receive(id);
    expect(sender.send).toHaveBeenCalledWith(
      expect.objectContaining({ id, topic: 'pricing', description: 'Please call me back' }),
      { recipients: ['pricing@example.com'] },
    );
  });

  it('leaves a retryable failure on the queue and counts the attempt, then delivers', async () => {
    const id = await newRequest();
    const sender = scripted({ kind: 'retry', reason: 'Slack answered 503' }, { kind: 'sent' });
    const slack = consumer('slack', sender);
    expect(await slack.receive(id, 1)).toMatchObject({ kind: 'retry', reason: 'Slack answered 503' });
    expect(await status(id)).toMatchObject({ status: 'queued', attempts: 1, delivered_at: null });
    expect(await slack.receive(id, 2)).toMatchObject({ kind: 'done', status: 'delivered' });
    expect(await status(id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(sender.send).toHaveBeenCalledTimes(2);
  });

  it('passes a Retry-After through so the message stays invisible at least that long', async () => {
    const id = await newRequest();
    const slack = consumer('slack', scripted({ kind: 'retry', reason: '429', afterSeconds: 42 }));
    expect(await slack.receive(id, 1)).toEqual({ kind: 'retry', reason: '429', afterSeconds: 42 });
  });

  it('marks the request failed after the last attempt when the rule has no fallback', async () => {
    const id = await newRequest('pricing');
    const sender = scripted(
      { kind: 'retry', reason: 'throttled' },
      { kind: 'retry', reason: 'throttled' },
      { kind: 'retry', reason: 'throttled' },
    );
    const email = consumer('email', sender);
    expect((await email.receive(id, 1)).kind).toBe('retry');
    expect((await email.receive(id, 2)).kind).toBe('retry');
    expect(await email.receive(id, 3)).toMatchObject({ kind: 'done', status: 'failed' });
    expect(await status(id)).toMatchObject({ status: 'failed', attempts: 3 });
    expect(email.enqueued).toEqual([]);
    // a DLQ replay of the same message finds nothing to do
    expect(await email.receive(id, 1)).toMatchObject({ status: 'skipped' });
    expect(sender.send).toHaveBeenCalledTimes(3);
  });

  it('hands a permanent failure to the fallback channel once, which then delivers', async () => {
    const id = await newRequest();
    const slack = consumer('slack', scripted({ kind: 'permanent', reason: 'Slack answered 404 no_service' }));
    expect(await slack.receive(id)).toMatchObject({ kind: 'done', status: 'fallback' });
    expect(slack.enqueued).toEqual([{ requestId: id, channel: 'email' }]);
    expect(await status(id)).toMatchObject({ channel: 'email', status: 'queued', attempts: 1 });
    // the primary message redelivered: nothing is sent and the fallback is not queued again
    expect(await slack.receive(id, 2)).toMatchObject({ status: 'skipped' });
    expect(slack.enqueued).toHaveLength(1);

    const emailSender = scripted({ kind: 'sent' });
    const email = consumer('email', emailSender);
    expect(await email.receive(id)).toMatchObject({ status: 'delivered' });
    expect(emailSender.send).toHaveBeenCalledWith(expect.anything(), {
      recipients: ['fallback@example.com'],
    });
    expect(await status(id)).toMatchObject({ channel: 'email', status: 'delivered', attempts: 2 });
  });

  it('fails for good when the fallback fails too (no second fallback)', async () => {
    const id = await newRequest();
    await consumer('slack', scripted({ kind: 'permanent', reason: '410' })).receive(id);
    const email = consumer('email', scripted({ kind: 'permanent', reason: 'MessageRejected' }));
    expect(await email.receive(id)).toMatchObject({ status: 'failed' });
    expect(email.enqueued).toEqual([]);
    expect(await status(id)).toMatchObject({ channel: 'email', status: 'failed', attempts: 2 });
  });

  it('queues the fallback again if that failed the first time', async () => {
    const id = await newRequest();
    let calls = 0;
    const enqueue = vi.fn(async () => {
      calls += 1;
      if (calls === 1) throw new Error('SQS unavailable');
    });
    const sender = scripted({ kind: 'permanent', reason: '404' });
    const slack = consumer('slack', sender, { enqueue });
    await expect(slack.receive(id, 1)).rejects.toThrow('SQS unavailable');
    expect(await slack.receive(id, 2)).toMatchObject({ status: 'fallback' });
    expect(enqueue).toHaveBeenCalledTimes(2);
    expect(enqueue).toHaveBeenLastCalledWith({ requestId: id, channel: 'email' });
    expect(sender.send).toHaveBeenCalledTimes(1);
  });

  it('does not resend when an earlier attempt died between sending and recording', async () => {
    const id = await newRequest();
    let clock = Date.now();
    // The first invocation sends and never gets to record the result (it "crashes").
    const hanging = { send: vi.fn(() => new Promise<DeliveryOutcome>(() => undefined)) };
    void consumer('slack', hanging, { now: () => clock }).receive(id, 1, { remainingMs: 10_000 });
    await vi.waitFor(() => expect(hanging.send).toHaveBeenCalledTimes(1));

    const sender = scripted({ kind: 'sent' });
    const slack = consumer('slack', sender, { now: () => clock });
    // While that invocation may still be alive: come back after its claim ends, send nothing.
    const early = await slack.receive(id, 2);
    expect(early).toMatchObject({ kind: 'retry', reason: 'delivery in progress elsewhere' });
    expect((early as { afterSeconds: number }).afterSeconds).toBeGreaterThanOrEqual(10);
    // After it has certainly ended: the outcome is unknown, so the request is failed and not resent.
    clock += 16_000;
    expect(await slack.receive(id, 3)).toMatchObject({ status: 'failed', reason: 'outcome_unknown' });
    expect(sender.send).not.toHaveBeenCalled();
    expect(slack.enqueued).toEqual([]);
    expect(await status(id)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('treats an ambiguous send as failed without resending', async () => {
    const id = await newRequest();
    const sender = scripted({ kind: 'unknown', reason: 'timeout' });
    const slack = consumer('slack', sender);
    expect(await slack.receive(id)).toMatchObject({ status: 'failed' });
    expect(await slack.receive(id, 2)).toMatchObject({ status: 'skipped' });
    expect(sender.send).toHaveBeenCalledTimes(1);
    expect(slack.enqueued).toEqual([]);
  });

  it('lets exactly one of two concurrent deliveries of the same request send', async () => {
    const id = await newRequest();
    // A slow send keeps the winner's claim visible to the loser.
    const sender = {
      send: vi.fn(async (): Promise<DeliveryOutcome> => {
        await new Promise((r) => setTimeout(r, 300));
        return { kind: 'sent' };
      }),
    };
    const slack = consumer('slack', sender);
    const results = await Promise.all([slack.receive(id, 1), slack.receive(id, 1)]);
    expect(sender.send).toHaveBeenCalledTimes(1);
    expect(results.map((r) => r.kind).sort()).toEqual(['done', 'retry']);
    expect(await status(id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('drops a message for an unknown request', async () => {
    const sender = scripted();
    expect(await consumer('slack', sender).receive(randomUUID())).toMatchObject({ status: 'skipped' });
    expect(sender.send).not.toHaveBeenCalled();
  });
});

describe('requestAssistance when the queue is down', () => {
  it('answers 503 and marks the stored request failed so nothing waits forever', async () => {
    const ids: string[] = [];
    const error = await requestAssistance(
      {
        rules: { current: async () => rules },
        enqueue: async (m) => {
          ids.push(m.requestId);
          throw new Error('SQS down');
        },
      },
      owner,
      { topic: 'sales', description: 'x' },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable' });
    const { data } = await assistanceDb()
      .entities.request.get({ requestId: ids[0] as string })
      .go();
    expect(data).toMatchObject({ status: 'failed', failureReason: 'enqueue_failed' });
  });
});
