import { randomUUID } from 'node:crypto';
import type { BreakerPhase, CircuitBreaker } from '@svc/dispatch/breaker';
import { submitMessage } from '@svc/dispatch/messages';
import { toE164 } from '@svc/dispatch/phone';
import type { SmsProvider, SmsRequest, SmsResult } from '@svc/dispatch/providers';
import type { MessageQueue, SendJob } from '@svc/dispatch/queue';
import type { SenderDeps } from '@svc/dispatch/sender';

/** A queue that only remembers what it was given. */
export function memoryQueue(): MessageQueue & { jobs: SendJob[] } {
  const jobs: SendJob[] = [];
  return {
    jobs,
    async enqueue(job) {
      jobs.push(job);
    },
  };
}

export type Behaviour = (request: SmsRequest) => SmsResult | Promise<SmsResult>;

export const ok: Behaviour = () => ({ kind: 'accepted', messageId: randomUUID() });
export const down: Behaviour = () => ({ kind: 'unavailable', detail: 'answered 500' });

/** A provider port fake that logs every call and what it answered. */
export function fakeProvider(name: string, behaviour: Behaviour = ok) {
  const calls: { request: SmsRequest; result: SmsResult; messageId: string }[] = [];
  const provider: SmsProvider & { calls: typeof calls; behaviour: Behaviour } = {
    name,
    calls,
    behaviour,
    async send(request) {
      const result = await provider.behaviour(request);
      const messageId = new URL(request.callbackUrl).searchParams.get('id') ?? '';
      calls.push({ request, result, messageId });
      return result;
    },
  };
  return provider;
}

/** A breaker that is always closed and only counts what it was told. */
export function closedBreaker(): CircuitBreaker & { failures: string[]; successes: string[] } {
  const failures: string[] = [];
  const successes: string[] = [];
  return {
    failures,
    successes,
    async phases(names) {
      return new Map(names.map((n) => [n, 'closed' as BreakerPhase]));
    },
    async tryProbe() {
      return true;
    },
    async recordSuccess(name) {
      successes.push(name);
    },
    async recordFailure(name) {
      failures.push(name);
    },
  };
}

/** Sender dependencies with two fake providers; `random` 0 picks provider1 first, 0.99 provider2. */
export function senderWith(
  p1: ReturnType<typeof fakeProvider>,
  p2: ReturnType<typeof fakeProvider>,
  overrides: Partial<SenderDeps> = {},
): SenderDeps {
  return {
    providers: [p1, p2],
    weights: [
      { name: p1.name, weight: 30 },
      { name: p2.name, weight: 70 },
    ],
    breaker: closedBreaker(),
    // The fake reads the id back from the URL, so calls can be attributed to messages.
    callbackUrl: async (id) => `https://api.example.test/messages/delivery_status?id=${id}`,
    maxReceiveCount: 3,
    leaseMs: 5_000,
    random: () => 0,
    ...overrides,
  };
}

const used = new Set<string>();
/** A valid US number not used before in this run, so suppression and listings do not mix tests. */
export function uniqueNumber(): string {
  for (;;) {
    const exchange = 200 + Math.floor(Math.random() * 700);
    const line = String(Math.floor(Math.random() * 10_000)).padStart(4, '0');
    const number = toE164(`415${exchange}${line}`);
    if (number && !used.has(number)) {
      used.add(number);
      return number;
    }
  }
}

export async function queuedMessage(text = 'hello', toNumber = uniqueNumber()) {
  const queue = memoryQueue();
  const accepted = await submitMessage({ to_number: toNumber, message: text }, { queue });
  return { ...accepted, job: queue.jobs[0] as SendJob };
}
