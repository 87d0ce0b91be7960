import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeMrkdwn, retryAfterSeconds, slackMessage, slackSender } from './slack.js';

/** A tiny stand-in for a Slack incoming webhook: the path picks the answer, every post is kept. */
interface Received {
  path: string;
  contentType: string | undefined;
  body: { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] };
}
const received: Received[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
    });
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(data),
      });
      if (req.url === '/slow') return; // never answers
      if (req.url === '/limited') {
        res.writeHead(429, { 'retry-after': '7' }).end('rate_limited');
        return;
      }
      if (req.url === '/gone') return void res.writeHead(404).end('no_service');
      if (req.url === '/boom') return void res.writeHead(500).end('oops');
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const request = {
  id: '0190b6f2-8c1e-7a51-9d6e-1f2a3b4c5d6e',
  topic: 'sales',
  description: 'Need <b>help</b> & a quote > 10 seats',
  createdAt: '2025-01-02T03:04:05.000Z',
};

const senderFor = (path: string, timeoutMs = 2000) =>
  slackSender({ webhookUrl: async () => `${base}${path}`, timeoutMs });

describe('slack message', () => {
  it('escapes exactly &, < and >', () => {
    expect(escapeMrkdwn('a & <@U123> > *b*')).toBe('a &amp; &lt;@U123&gt; &gt; *b*');
  });

  it('has a header, topic, time, escaped description and the request id', () => {
    const message = slackMessage(request);
    const text = JSON.stringify(message.blocks);
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(text).toContain('sales');
    expect(text).toContain(request.createdAt);
    expect(text).toContain(request.id);
    expect(text).toContain('Need &lt;b&gt;help&lt;/b&gt; &amp; a quote &gt; 10 seats');
    expect(text).not.toContain('<b>');
    expect(message.text).toContain('sales');
  });

  it('escapes the notification text too: no mention, broadcast or link reaches Slack', () => {
    const message = slackMessage({
      ...request,
      topic: '<!channel> urgent',
      description: 'ping <@U012AB3CD> and <!here>, see <https://evil.example|your invoice> & pay',
    });
    expect(message.text).not.toMatch(/[<>]/);
    expect(message.text).toBe(
      'New assistance request (&lt;!channel&gt; urgent): ping &lt;@U012AB3CD&gt; and &lt;!here&gt;, ' +
        'see &lt;https://evil.example|your invoice&gt; &amp; pay',
    );
    const long = slackMessage({ ...request, description: `${'x'.repeat(250)}${'<'.repeat(40)}` });
    expect(long.text).toMatch(/^New assistance request \(sales\): x+(&lt;)+…$/);
  });

  it('splits a long description into sections of at most 3000 characters without cutting an entity', () => {
    const message = slackMessage({ ...request, description: `${'x'.repeat(2998)}&${'y'.repeat(3500)}` });
    const sections = message.blocks.filter((b) => b.type === 'section' && 'text' in b) as {
      text: { text: string };
    }[];
    expect(sections.length).toBe(3);
    for (const s of sections) expect(s.text.text.length).toBeLessThanOrEqual(3000);
    expect(sections[1]?.text.text.startsWith('&amp;')).toBe(true);
    expect(sections.map((s) => s.text.text).join('')).toBe(
      escapeMrkdwn(`${'x'.repeat(2998)}&${'y'.repeat(3500)}`),
    );
  });
});

describe('slackSender against a fake webhook', () => {
  it('posts JSON Block Kit and reports sent on 200', async () => {
    expect(await senderFor('/ok').send(request, {})).toEqual({ kind: 'sent' });
    const post = received.find((r) => r.path === '/ok');
    expect(post?.contentType).toMatch(/^application\/json/);
    expect(post?.body.blocks[0]?.type).toBe('header');
  });

  it('asks to retry no sooner than Retry-After on 429', async () => {
    expect(await senderFor('/limited').send(request, {})).toMatchObject({ kind: 'retry', afterSeconds: 7 });
  });

  it('treats other 4xx as permanent and 5xx as retryable', async () => {
    expect(await senderFor('/gone').send(request, {})).toMatchObject({ kind: 'permanent', reason: /404/ });
    expect(await senderFor('/boom').send(request, {})).toMatchObject({ kind: 'retry', reason: /500/ });
  });

  it('retries when nothing listens (the post certainly did not happen)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sender = slackSender({ webhookUrl: async () => `http://127.0.0.1:${port}/x` });
    expect(await sender.send(request, {})).toMatchObject({ kind: 'retry', reason: /ECONNREFUSED/ });
  });

  it('reports an unanswered post as unknown (it may have been delivered)', async () => {
    expect(await senderFor('/slow', 300).send(request, {})).toMatchObject({ kind: 'unknown' });
  });

  it('retries when the webhook URL cannot be read', async () => {
    const sender = slackSender({
      webhookUrl: async () => {
        throw new Error('ssm down');
      },
    });
    expect(await sender.send(request, {})).toMatchObject({ kind: 'retry' });
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds and HTTP dates, at least 1', () => {
    expect(retryAfterSeconds('30')).toBe(30);
    expect(retryAfterSeconds('0')).toBe(1);
    expect(retryAfterSeconds(null)).toBe(1);
    expect(retryAfterSeconds(new Date(10_000 + 20_000).toUTCString(), 10_000)).toBe(20);
  });
});
