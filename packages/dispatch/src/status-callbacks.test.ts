import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from './entities.js';
import { callbackEvents, planCallbacks, receiverOf } from './status-callbacks.js';

const id = '0f0e0d0c-0b0a-4908-8706-050403020100';
const at = (second: number) => `2026-12-06T10:00:${String(second).padStart(2, '0')}.000Z`;

describe('callback events', () => {
  it('are the reportable history entries in time order, without queued and sending', () => {
    const history: HistoryEntry[] = [
      { status: 'queued', at: at(0) },
      { status: 'sending', at: at(1) },
      // The provider's callback overtook the sender's own write: `sent` was recorded later, dated earlier.
      { status: 'delivered', at: at(3), provider: 'provider1' },
      { status: 'sent', at: at(2), provider: 'provider1' },
    ];
    const events = callbackEvents({ id, history });
    expect(events.map((e) => e.key)).toEqual(['sent#1', 'delivered#1']);
    expect(events[0]).toEqual({
      key: 'sent#1',
      eventId: `${id}:sent:1`,
      body: { id, status: 'sent', at: at(2), provider: 'provider1' },
    });
  });

  it('number repeated statuses (a replayed message can fail twice), keeping details', () => {
    const history: HistoryEntry[] = [
      { status: 'queued', at: at(0) },
      { status: 'failed', at: at(1), detail: 'all providers failed' },
      { status: 'sending', at: at(2) },
      { status: 'failed', at: at(3), detail: 'all providers failed again' },
    ];
    expect(callbackEvents({ id, history }).map((e) => [e.eventId, e.body.detail])).toEqual([
      [`${id}:failed:1`, 'all providers failed'],
      [`${id}:failed:2`, 'all providers failed again'],
    ]);
  });
});

describe('planCallbacks', () => {
  const events = callbackEvents({
    id,
    history: [
      { status: 'sent', at: at(1) },
      { status: 'delivered', at: at(2) },
    ],
  });

  it('sends everything not acknowledged, oldest first', () => {
    expect(planCallbacks(events, new Set()).send.map((e) => e.key)).toEqual(['sent#1', 'delivered#1']);
    expect(planCallbacks(events, new Set(['sent#1']))).toMatchObject({
      send: [{ key: 'delivered#1' }],
      skip: [],
    });
    expect(planCallbacks(events, new Set(['sent#1', 'delivered#1']))).toEqual({ send: [], skip: [] });
  });

  it('never sends a status older than one the receiver already has', () => {
    const plan = planCallbacks(events, new Set(['delivered#1']));
    expect(plan.send).toEqual([]);
    expect(plan.skip.map((e) => e.key)).toEqual(['sent#1']);
  });
});

describe('receivers', () => {
  it('name a receiver by origin, so one host:port is one breaker', () => {
    expect(receiverOf('https://hooks.example.com/a?x=1')).toBe('receiver:https://hooks.example.com');
    expect(receiverOf('https://hooks.example.com:8443/b')).toBe('receiver:https://hooks.example.com:8443');
    expect(receiverOf('http://127.0.0.1:4000/sms')).toBe('receiver:http://127.0.0.1:4000');
  });
});
