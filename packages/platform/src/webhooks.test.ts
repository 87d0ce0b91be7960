import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callbackUrlFormProblem,
  checkCallbackUrl,
  httpWebhookSender,
  isPublicAddress,
  type Lookup,
  verifyWebhookSignature,
  webhookSignature,
} from './webhooks.js';

const deployed = { allowLocalHttp: false };
const local = { allowLocalHttp: true };
const resolvesTo =
  (...addresses: string[]): Lookup =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('callback URL rules (SPEC §0)', () => {
  it('accepts only https in deployed stages', () => {
    expect(callbackUrlFormProblem('https://hooks.example.com/sms', deployed)).toBeUndefined();
    expect(callbackUrlFormProblem('http://hooks.example.com/sms', deployed)).toBe('must use https');
    expect(callbackUrlFormProblem('http://127.0.0.1:4000/hook', deployed)).toBe('must use https');
    expect(callbackUrlFormProblem('ftp://hooks.example.com/', deployed)).toBe('must use https');
    expect(callbackUrlFormProblem('hooks.example.com', deployed)).toBe('must be an absolute URL');
  });

  it('accepts http://127.0.0.1:<port> locally, and no other loopback spelling', () => {
    expect(callbackUrlFormProblem('http://127.0.0.1:4000/hook', local)).toBeUndefined();
    expect(callbackUrlFormProblem('http://localhost:4000/hook', local)).toMatch(/https/);
    expect(callbackUrlFormProblem('http://127.0.0.2:4000/hook', local)).toMatch(/https/);
    expect(callbackUrlFormProblem('https://127.0.0.2/hook', local)).toMatch(/loopback/);
  });

  it('refuses private, link-local and metadata IP literals, credentials and fragments', () => {
    for (const url of [
      'https://10.0.0.5/hook',
      'https://192.168.0.10/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://[::ffff:7f00:1]/hook',
      'https://2130706433/hook',
      'https://0x7f.1/hook',
    ])
      expect(callbackUrlFormProblem(url, deployed), url).toMatch(/loopback, private/);
    expect(callbackUrlFormProblem('https://user:pw@hooks.example.com/', deployed)).toMatch(/credentials/);
    expect(callbackUrlFormProblem('https://hooks.example.com/#x', deployed)).toMatch(/fragment/);
    expect(callbackUrlFormProblem(`https://hooks.example.com/${'a'.repeat(2100)}`, deployed)).toMatch(
      /at most/,
    );
  });

  it('refuses a host name when any of its addresses is not public', async () => {
    const url = 'https://hooks.example.com/sms';
    expect(await checkCallbackUrl(url, deployed, resolvesTo('93.184.215.14'))).toEqual({ ok: true });
    expect(await checkCallbackUrl(url, deployed, resolvesTo('127.0.0.1'))).toMatchObject({ ok: false });
    expect(await checkCallbackUrl(url, deployed, resolvesTo('93.184.215.14', '10.0.0.1'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/resolves to a loopback/),
    });
    // localhost is loopback through the real resolver too, locally as well as deployed.
    expect(await checkCallbackUrl('https://localhost:4000/hook', local)).toMatchObject({ ok: false });
  });

  it('tells a name that does not exist (422) from a resolver in trouble (retry)', async () => {
    const failing =
      (code: string): Lookup =>
      async () => {
        throw Object.assign(new Error(code), { code });
      };
    expect(await checkCallbackUrl('https://nope.example/', deployed, failing('ENOTFOUND'))).toEqual({
      ok: false,
      problem: 'host does not resolve',
    });
    expect(await checkCallbackUrl('https://nope.example/', deployed, failing('EAI_AGAIN'))).toMatchObject({
      ok: false,
      unavailable: true,
    });
  });
});

describe('X-Signature', () => {
  const body = '{"id":"m","status":"sent"}';

  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', Buffer.from('key', 'utf8'))
      .update(`1700000000.${body}`)
      .digest('hex');
    expect(webhookSignature('key', body, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies within the tolerance only, and only with the right key and body', () => {
    const header = webhookSignature('key', body, 1000);
    expect(verifyWebhookSignature('key', body, header, { nowSeconds: 1200 })).toBe(true);
    expect(verifyWebhookSignature('key', body, header, { nowSeconds: 1400 })).toBe(false);
    expect(verifyWebhookSignature('other', body, header, { nowSeconds: 1000 })).toBe(false);
    expect(verifyWebhookSignature('key', `${body} `, header, { nowSeconds: 1000 })).toBe(false);
    expect(verifyWebhookSignature('key', body, 't=1000,v1=zz', { nowSeconds: 1000 })).toBe(false);
    expect(verifyWebhookSignature('key', body, undefined)).toBe(false);
  });
});

describe('httpWebhookSender', () => {
  let server: Server;
  let base = '';
  const received: { headers: IncomingMessage['headers']; body: string; path: string }[] = [];
  let answer = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body, path: req.url ?? '' });
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1_000);
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/elsewhere' });
          return void res.end();
        }
        res.writeHead(answer);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sender = (overrides: Partial<Parameters<typeof httpWebhookSender>[0]> = {}) =>
    httpWebhookSender({ policy: local, secret: async () => 'shh', timeoutMs: 300, ...overrides });

  it('POSTs the JSON body with the event id and a signature a receiver can verify', async () => {
    answer = 204;
    const result = await sender().post({
      url: `${base}/hook`,
      body: { id: 'm1', status: 'sent' },
      eventId: 'e1',
    });
    expect(result).toEqual({ kind: 'delivered', status: 204 });
    const last = received.at(-1);
    expect(last?.body).toBe('{"id":"m1","status":"sent"}');
    expect(last?.headers['x-event-id']).toBe('e1');
    expect(last?.headers['content-type']).toBe('application/json');
    expect(verifyWebhookSignature('shh', last?.body ?? '', String(last?.headers['x-signature']))).toBe(true);
  });

  it('reports a non-2xx, a redirect (not followed) and a timeout as failures', async () => {
    answer = 500;
    expect(await sender().post({ url: `${base}/hook`, body: {}, eventId: 'e' })).toEqual({
      kind: 'failed',
      status: 500,
      detail: 'answered 500',
    });
    const before = received.length;
    expect(await sender().post({ url: `${base}/redirect`, body: {}, eventId: 'e' })).toMatchObject({
      kind: 'failed',
      detail: 'answered 302 (redirects are not followed)',
    });
    expect(received.slice(before).map((r) => r.path)).toEqual(['/redirect']);
    expect(await sender().post({ url: `${base}/slow`, body: {}, eventId: 'e' })).toEqual({
      kind: 'failed',
      detail: 'no answer within 300 ms',
    });
  });

  it('reports a closed port as a network error', async () => {
    const result = await sender().post({ url: 'http://127.0.0.1:1/hook', body: {}, eventId: 'e' });
    expect(result).toMatchObject({ kind: 'failed', detail: expect.stringMatching(/network error/) });
  });

  it('checks again at call time: a name resolving to a private address is never connected to', async () => {
    const before = received.length;
    const result = await sender({ policy: deployed, lookup: resolvesTo('127.0.0.1') }).post({
      url: `https://hooks.example.com:${new URL(base).port}/hook`,
      body: {},
      eventId: 'e',
    });
    expect(result).toEqual({
      kind: 'refused',
      detail: 'host resolves to a loopback, private, link-local or metadata address',
    });
    expect(received.length).toBe(before);
    expect(await sender({ policy: deployed }).post({ url: `${base}/hook`, body: {}, eventId: 'e' })).toEqual({
      kind: 'refused',
      detail: 'URL must use https',
    });
  });
});
