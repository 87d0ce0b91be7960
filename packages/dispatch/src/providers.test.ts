import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSmsProvider, providerOrder } from './providers.js';

/** Deterministic PRNG (mulberry32) so the share test is reproducible and cannot flake. */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIGHTS = [
  { name: 'provider1', weight: 30 },
  { name: 'provider2', weight: 70 },
];
const noneOpen = () => false;

describe('providerOrder', () => {
  it.each([1, 42, 2026])('sends about 30%% / 70%% first over 20,000 draws (seed %i)', (seed) => {
    const random = seeded(seed);
    let first1 = 0;
    const draws = 20_000;
    for (let i = 0; i < draws; i++) if (providerOrder(WEIGHTS, noneOpen, random)[0] === 'provider1') first1++;
    expect(first1 / draws).toBeGreaterThan(0.29);
    expect(first1 / draws).toBeLessThan(0.31);
  });

  it('follows other weights too', () => {
    const random = seeded(7);
    const weights = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 2 },
    ];
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 20_000; i++) {
      const first = providerOrder(weights, noneOpen, random)[0] ?? '';
      counts[first] = (counts[first] ?? 0) + 1;
    }
    expect((counts.c ?? 0) / 20_000).toBeCloseTo(0.5, 1);
    expect((counts.a ?? 0) / 20_000).toBeCloseTo(0.25, 1);
  });

  it('always lists every provider once, the other as the fallback', () => {
    const random = seeded(3);
    for (let i = 0; i < 100; i++) {
      expect(providerOrder(WEIGHTS, noneOpen, random).sort()).toEqual(['provider1', 'provider2']);
    }
  });

  it('picks by the random draw: below 0.3 is provider1', () => {
    expect(providerOrder(WEIGHTS, noneOpen, () => 0.29)).toEqual(['provider1', 'provider2']);
    expect(providerOrder(WEIGHTS, noneOpen, () => 0.3)).toEqual(['provider2', 'provider1']);
    expect(providerOrder(WEIGHTS, noneOpen, () => 0.999999)).toEqual(['provider2', 'provider1']);
  });

  it('skips a provider whose breaker is open', () => {
    const random = seeded(9);
    for (let i = 0; i < 200; i++) {
      expect(providerOrder(WEIGHTS, (n) => n === 'provider2', random)).toEqual(['provider1']);
    }
  });

  it('tries every provider when all breakers are open', () => {
    expect(
      providerOrder(
        WEIGHTS,
        () => true,
        () => 0.1,
      ),
    ).toEqual(['provider1', 'provider2']);
  });

  it('never draws a provider of weight 0 first, but keeps it as a fallback', () => {
    const random = seeded(11);
    const weights = [
      { name: 'main', weight: 0 },
      { name: 'backup', weight: 5 },
    ];
    for (let i = 0; i < 500; i++)
      expect(providerOrder(weights, noneOpen, random)).toEqual(['backup', 'main']);
  });
});

describe('httpSmsProvider', () => {
  let server: Server;
  let base: string;
  const seen: { body: unknown; contentType: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => {
        raw += d.toString();
      });
      req.on('end', () => {
        seen.push({ body: JSON.parse(raw || 'null'), contentType: req.headers['content-type'] });
        const send = (status: number, body: string) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        };
        if (req.url === '/ok') return send(200, '{"message_id":"p-123"}');
        if (req.url === '/down') return send(503, '{"error":"down"}');
        if (req.url === '/throttled') return send(429, '{}');
        if (req.url === '/bad') return send(400, '{"error":"bad number"}');
        if (req.url === '/garbage') return send(200, 'not json');
        if (req.url === '/no-id') return send(200, '{}');
        if (req.url === '/slow') return void setTimeout(() => send(200, '{"message_id":"late"}'), 500);
        send(404, '{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const request = { toNumber: '+14155552671', message: 'hi', callbackUrl: 'https://cb.example/x?token=t' };
  const provider = (path: string, timeoutMs = 300) =>
    httpSmsProvider({ name: 'p', url: `${base}${path}` }, timeoutMs);

  it('posts the SPEC body and returns the provider message id', async () => {
    expect(await provider('/ok').send(request)).toEqual({ kind: 'accepted', messageId: 'p-123' });
    expect(seen.at(-1)).toEqual({
      body: { to_number: '+14155552671', message: 'hi', callback_url: 'https://cb.example/x?token=t' },
      contentType: 'application/json',
    });
  });

  it.each([
    ['/down', 'unavailable'],
    ['/throttled', 'unavailable'],
    ['/slow', 'unavailable'],
    ['/bad', 'rejected'],
    ['/garbage', 'rejected'],
    ['/no-id', 'rejected'],
  ])('%s is %s', async (path, kind) => {
    expect((await provider(path).send(request)).kind).toBe(kind);
  });

  it('gives up at the timeout', async () => {
    const started = Date.now();
    const result = await provider('/slow', 100).send(request);
    expect(result).toEqual({ kind: 'unavailable', detail: 'no answer within 100 ms' });
    expect(Date.now() - started).toBeLessThan(450);
  });

  it('treats a refused connection as unavailable', async () => {
    const closed = httpSmsProvider({ name: 'p', url: 'http://127.0.0.1:1/sms' }, 300);
    expect(await closed.send(request)).toEqual({ kind: 'unavailable', detail: 'network error' });
  });
});
