import { randomUUID } from 'node:crypto';
import {
  conditionFailureItem,
  isConditionFailure,
  type Logger,
  logger,
  metrics,
  OLD_ITEM_ON_CONDITION_FAILURE,
} from '@svc/platform';
import type { WebhookResult, WebhookSender } from '@svc/platform/webhooks';
import type { BreakerPhase, CircuitBreaker } from './breaker.js';
import { dispatchDb, type HistoryEntry, type MessageItem } from './entities.js';
import { DispatchMetric } from './metrics.js';
import { CALLBACK_STATUSES, type CallbackStatus } from './statuses.js';

/**
 * Status callbacks (SPEC §5). The message's own history is the outbox: a status change is written to the
 * message first, then a `{id}` job goes onto `dispatch-status-callbacks`, and the consumer "syncs" the
 * message: it POSTs, oldest first, every reportable history entry the receiver has not acknowledged yet.
 * A lost or duplicated job therefore loses nothing (the next job of the message carries everything) and
 * sends nothing twice that was acknowledged. One sync per message at a time (a lease on the message), so
 * a receiver sees a message's statuses in the order they happened.
 */

/** The body of a `dispatch-status-callbacks` SQS message: only the message id. */
export interface StatusCallbackJob {
  id: string;
}

/** Port: tells the status-callback consumer that a message's status changed. */
export interface StatusCallbackQueue {
  enqueue(job: StatusCallbackJob): Promise<void>;
}

const REPORTABLE: ReadonlySet<string> = new Set(CALLBACK_STATUSES);

/** Announces a status change when the message has a callback URL and the status is one a sender hears of. */
export async function announceStatus(
  message: Pick<MessageItem, 'id' | 'status' | 'statusCallbackUrl'>,
  queue: StatusCallbackQueue | undefined,
): Promise<void> {
  if (!queue || !message.statusCallbackUrl || !REPORTABLE.has(message.status)) return;
  await queue.enqueue({ id: message.id });
}

/** What the receiver gets: `{"id","status","at","provider"?,"detail"?}`, `id` being the message id. */
export interface StatusCallbackBody {
  id: string;
  status: CallbackStatus;
  at: string;
  provider?: string;
  detail?: string;
}

export interface CallbackEvent {
  /** `<status>#<n>`: the n-th entry of that status in the history (a replayed message can fail twice). */
  key: string;
  /** Stable across retries: the `X-Event-Id` header. */
  eventId: string;
  body: StatusCallbackBody;
}

/** History in time order; entries with equal times keep their written order. */
export function historyInOrder(history: readonly HistoryEntry[]): HistoryEntry[] {
  return [...history]
    .map((h, i) => ({ h, i }))
    .sort((x, y) => (x.h.at < y.h.at ? -1 : x.h.at > y.h.at ? 1 : x.i - y.i))
    .map(({ h }) => h);
}

/** Every reportable status change of a message, oldest first. */
export function callbackEvents(message: Pick<MessageItem, 'id' | 'history'>): CallbackEvent[] {
  const seen = new Map<string, number>();
  const events: CallbackEvent[] = [];
  for (const entry of historyInOrder(message.history)) {
    if (!REPORTABLE.has(entry.status)) continue;
    const n = (seen.get(entry.status) ?? 0) + 1;
    seen.set(entry.status, n);
    events.push({
      key: `${entry.status}#${n}`,
      eventId: `${message.id}:${entry.status}:${n}`,
      body: {
        id: message.id,
        status: entry.status as CallbackStatus,
        at: entry.at,
        ...(entry.provider ? { provider: entry.provider } : {}),
        ...(entry.detail ? { detail: entry.detail } : {}),
      },
    });
  }
  return events;
}

/**
 * What to do next: events after the newest acknowledged one are sent, in order. An unacknowledged event
 * older than an acknowledged one (a `sent` recorded after the provider's `delivered` overtook it) is
 * skipped, so a receiver never hears of a status older than one it already has.
 */
export function planCallbacks(
  events: readonly CallbackEvent[],
  done: ReadonlySet<string>,
): { send: CallbackEvent[]; skip: CallbackEvent[] } {
  let newestDone = -1;
  events.forEach((event, index) => {
    if (done.has(event.key)) newestDone = index;
  });
  const pending = (event: CallbackEvent) => !done.has(event.key);
  return {
    skip: events.slice(0, Math.max(0, newestDone)).filter(pending),
    send: events.slice(newestDone + 1).filter(pending),
  };
}

/** The breaker name of a receiver: scheme, host and port, so one receiver's outage stops only its calls. */
export function receiverOf(url: string): string {
  try {
    return `receiver:${new URL(url).origin}`;
  } catch {
    return 'receiver:invalid';
  }
}

/** Attempt outcomes kept per message (each a short line; the item stays far below 400 KB). */
export const MAX_CALLBACK_LOG = 60;

export interface SyncDeps {
  webhook: WebhookSender;
  breaker: CircuitBreaker;
  /** To hand over status changes that arrived during this sync. */
  queue: StatusCallbackQueue;
  maxReceiveCount: number;
  leaseMs: number;
  now?: () => number;
  log?: Logger;
}

/**
 * - `idle`: nothing left to send (or no such message, or it has no callback URL).
 * - `busy`: another sync holds the message; it will see this change (its release reads the item).
 * - `delivered`: every pending callback was acknowledged.
 * - `retry`: a callback failed; the job is retried later (backoff), later callbacks wait behind it.
 * - `gave-up`: it failed on the last receive; the job goes to the DLQ (a redrive resumes it).
 */
export type SyncOutcome = 'idle' | 'busy' | 'delivered' | 'retry' | 'gave-up';

const messages = () => dispatchDb().entities.message;

type Lease = { message: MessageItem; token: string } | { outcome: 'idle' | 'busy' };

async function acquire(id: string, now: number, leaseMs: number): Promise<Lease> {
  const token = randomUUID();
  try {
    const { data } = await messages()
      .patch({ id })
      .set({ callbackLeaseToken: token, callbackLeaseUntil: now + leaseMs })
      .where(
        (a, op) =>
          `${op.exists(a.statusCallbackUrl)} AND ` +
          `(${op.notExists(a.callbackLeaseUntil)} OR ${op.lt(a.callbackLeaseUntil, now)})`,
      )
      .go({ response: 'all_new', params: OLD_ITEM_ON_CONDITION_FAILURE });
    return { message: data as MessageItem, token };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const current = conditionFailureItem(error) as Partial<MessageItem> | undefined;
    return { outcome: current?.statusCallbackUrl ? 'busy' : 'idle' };
  }
}

function describe(result: WebhookResult): string {
  if (result.kind === 'delivered') return `answered ${result.status}`;
  if (result.kind === 'refused') return `not sent: ${result.detail}`;
  return result.detail;
}

/** Syncs one message's status callbacks (one delivery of a job). */
export async function syncStatusCallbacks(
  job: StatusCallbackJob,
  receiveCount: number,
  deps: SyncDeps,
): Promise<SyncOutcome> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? logger;
  const lease = await acquire(job.id, now(), deps.leaseMs);
  if ('outcome' in lease) return lease.outcome;
  const { message, token } = lease;
  const url = message.statusCallbackUrl as string;
  const done = new Set(message.callbacksDone ?? []);
  const plan = planCallbacks(callbackEvents(message), done);
  const stamp = () => new Date(now()).toISOString();
  const lines: { event: string; at: string; outcome: string }[] = [];
  for (const event of plan.skip) {
    done.add(event.key);
    lines.push({ event: event.key, at: stamp(), outcome: 'not sent: a later status was already reported' });
  }

  let failed = false;
  if (plan.send.length > 0) {
    const receiver = receiverOf(url);
    const phase: BreakerPhase = await deps.breaker
      .phases([receiver], now())
      .then((phases) => phases.get(receiver) ?? 'closed')
      .catch(() => 'closed' as const);
    const mayCall =
      phase === 'closed' ||
      (phase === 'half-open' && (await deps.breaker.tryProbe(receiver, now()).catch(() => true)));
    // Attempts per event, whichever job made them (a message's jobs all sync the same events).
    const tried = new Map<string, number>();
    for (const line of message.callbackLog ?? []) tried.set(line.event, (tried.get(line.event) ?? 0) + 1);
    const attempt = (event: CallbackEvent) => `attempt ${(tried.get(event.key) ?? 0) + 1}`;
    const last = receiveCount >= deps.maxReceiveCount;
    const giveUp = last ? '; gave up: in the DLQ until redriven' : '; will retry';
    if (!mayCall) {
      const first = plan.send[0] as CallbackEvent;
      lines.push({
        event: first.key,
        at: stamp(),
        outcome: `not called (${attempt(first)}): the receiver keeps failing, calls paused${giveUp}`,
      });
      failed = true;
      metrics.count(DispatchMetric.statusCallbacks, { outcome: 'paused' });
    } else {
      for (const event of plan.send) {
        const result = await deps.webhook.post({ url, body: event.body, eventId: event.eventId });
        metrics.count(DispatchMetric.statusCallbacks, {
          outcome: result.kind === 'delivered' ? 'delivered' : 'failed',
        });
        if (result.kind === 'delivered') {
          done.add(event.key);
          lines.push({ event: event.key, at: stamp(), outcome: `${describe(result)} (${attempt(event)})` });
          continue;
        }
        lines.push({
          event: event.key,
          at: stamp(),
          outcome: `${describe(result)} (${attempt(event)})${giveUp}`,
        });
        log.warn('status callback failed', {
          message_id: message.id,
          event: event.eventId,
          detail: describe(result),
        });
        failed = true;
        break;
      }
      const record = failed
        ? deps.breaker.recordFailure(receiver, now())
        : deps.breaker.recordSuccess(receiver, now());
      await record.catch((error: unknown) =>
        log.warn('receiver breaker update failed', { error: error as Error }),
      );
    }
  }

  // Release: record what was acknowledged and how each attempt went, under our lease only.
  let after: MessageItem | undefined;
  try {
    const { data } = await messages()
      .patch({ id: message.id })
      .set({
        callbacksDone: [...done],
        callbackLog: [...(message.callbackLog ?? []), ...lines].slice(-MAX_CALLBACK_LOG),
      })
      .remove(['callbackLeaseToken', 'callbackLeaseUntil'])
      .where((a, op) => op.eq(a.callbackLeaseToken, token))
      .go({ response: 'all_new' });
    after = data as MessageItem;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Our lease ran out and another sync took over: it carries on from what is recorded.
    log.warn('status callback lease lost', { message_id: message.id });
    return failed ? (receiveCount >= deps.maxReceiveCount ? 'gave-up' : 'retry') : 'delivered';
  }
  if (failed) return receiveCount >= deps.maxReceiveCount ? 'gave-up' : 'retry';
  // A status change that arrived while we held the lease was dropped as `busy`: hand it over.
  if (planCallbacks(callbackEvents(after), new Set(after.callbacksDone ?? [])).send.length > 0)
    await deps.queue.enqueue({ id: message.id });
  return plan.send.length > 0 ? 'delivered' : 'idle';
}

/** Each history entry's callback outcomes, for the message's `GET` (`history[].detail`). */
export function callbackOutcomes(message: Pick<MessageItem, 'callbackLog'>): Map<string, string[]> {
  const byEvent = new Map<string, string[]>();
  for (const line of message.callbackLog ?? []) {
    const list = byEvent.get(line.event) ?? [];
    list.push(line.outcome);
    byEvent.set(line.event, list);
  }
  return byEvent;
}
