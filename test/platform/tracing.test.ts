// Tracing inside a function (issue 19): with the stage's tracing on and in Lambda, an invocation is a
// `## <function>` subsegment annotated with its request id, and its DynamoDB call and outbound HTTP call
// are subsegments of their own. X-Ray's daemon is stood in for by a UDP socket that keeps what it gets.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, invoke } from '../support/api-event.js';
import { waitUntil } from '../support/wait.js';

// biome-ignore lint/suspicious/noExplicitAny: X-Ray documents are asserted field by field
type XrayDocument = Record<string, any>;
const received: XrayDocument[] = [];
const daemon = createSocket('udp4');
const server = createServer((_req, res) => res.end('{"ok":true}'));

beforeAll(async () => {
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  daemon.on('message', (message) => {
    const text = message.toString('utf8');
    received.push(JSON.parse(text.slice(text.indexOf('\n') + 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => {
  daemon.close();
  server.close();
});

describe('tracing', () => {
  it('is off outside Lambda and when the stage does not ask for it', async () => {
    const { tracingEnabled } = await import('@svc/platform/tracing');
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(false);
    expect(
      tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'false', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }),
    ).toBe(false);
    expect(
      tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }),
    ).toBe(true);
  });

  it('in Lambda: a subsegment per invocation with the request id, SDK and HTTP calls under it', async () => {
    Object.assign(process.env, {
      POWERTOOLS_TRACE_ENABLED: 'true',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: '/var/task',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
      _X_AMZN_TRACE_ID: 'Root=1-6752a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1',
    });
    const { defineRoute, dynamo, httpHandler } = await import('@svc/platform');
    const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const route = defineRoute({
      method: 'GET',
      path: '/traced',
      functionName: 'FixtureTraced',
      handler: 'none',
      summary: 'fixture',
      auth: { kind: 'public' },
      request: {},
      responses: { 200: null },
      access: {},
    });
    const handler = httpHandler(route, async () => {
      const { client, table } = dynamo();
      await client.send(new GetCommand({ TableName: table, Key: { pk: 'traced', sk: 'traced' } }));
      await (await fetch(url)).text();
      return { status: 200, body: { ok: true } };
    });
    const res = await invoke(
      handler,
      apiEvent({ method: 'GET', route: '/traced', headers: { 'x-request-id': 'trace-me-42' } }),
    );
    expect(res.status).toBe(200);

    const all = () =>
      received.flatMap(function flat(d): XrayDocument[] {
        return [d, ...(d.subsegments ?? []).flatMap(flat)];
      });
    const invocation = await waitUntil(
      'the invocation subsegment',
      async () => all().find((d) => d.name === '## FixtureTraced'),
      10_000,
    );
    expect(invocation.annotations).toMatchObject({
      request_id: 'trace-me-42',
      ColdStart: expect.any(Boolean),
    });
    const children = all().filter(
      (d) => d.parent_id === invocation.id || invocation.subsegments?.includes(d),
    );
    const names = [...new Set([...children, ...all()].map((d) => `${d.namespace ?? ''}:${d.name}`))];
    expect(names).toEqual(expect.arrayContaining(['aws:DynamoDB', 'remote:127.0.0.1']));
    const dynamoCall = all().find((d) => d.name === 'DynamoDB');
    expect(dynamoCall?.aws?.operation).toBe('GetItem');
  });
});
