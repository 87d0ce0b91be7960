// What a refused login costs (SPEC §0: a client over its limit costs at most one small read or write), measured
// on the real VisitsStartSession handler against DynamoDB Local with the SPEC presets (5 per email, 100 per IP):
// every request the handler sends to DynamoDB is recorded with the capacity the table reports for it.
import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SPEC_LIMITS } from '@svc/infra/stage-config';
import { type RunningSsm, startLocalSsm } from '@svc/local/ssm-server';
import { dynamo, limitClientDigest, limitKeyPrefix } from '@svc/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, invoke } from '../support/api-event.js';
import { captureEmf } from '../support/emf.js';
import { newUser, TEST_SECRET } from '../visits/support/accounts.js';
import { SECRET_PARAMETER } from '../visits/support/handlers.js';

interface Sent {
  command: string;
  read: number;
  write: number;
}
let recording: Sent[] | undefined;
let ssm: RunningSsm;
let handler: Parameters<typeof invoke>[0];
const emf = captureEmf();

beforeAll(async () => {
  ssm = await startLocalSsm({ [SECRET_PARAMETER]: TEST_SECRET });
  Object.assign(process.env, {
    PARAM_VISITS_TOKEN_SECRET: SECRET_PARAMETER,
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    STARTING_MINUTES: '120',
    PASSWORD_SCRYPT_LOG2N: '14',
    RATE_LIMITS: JSON.stringify({ prefix: '$visits', rules: SPEC_LIMITS }),
  });
  ({ handler } = await import('../../functions/visits/start-session.js'));
  // Every DynamoDB request the handler makes, with the capacity DynamoDB says it consumed (a request whose
  // condition failed is counted as one write: DynamoDB charges it, but the error carries no figure).
  dynamo().client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const sent: Sent = { command: String(context.commandName), read: 0, write: 0 };
      recording?.push(sent);
      try {
        const out = await next(args);
        const output = out.output as { ConsumedCapacity?: unknown };
        const capacities = [output.ConsumedCapacity ?? []].flat() as {
          ReadCapacityUnits?: number;
          WriteCapacityUnits?: number;
          CapacityUnits?: number;
        }[];
        for (const c of capacities) {
          const isRead = sent.command.includes('Get') || sent.command.includes('Query');
          sent.read += c.ReadCapacityUnits ?? (isRead ? (c.CapacityUnits ?? 0) : 0);
          sent.write += c.WriteCapacityUnits ?? (isRead ? 0 : (c.CapacityUnits ?? 0));
        }
        return out;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') sent.write += 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'recordRequests' },
  );
});
afterAll(async () => {
  emf.stop();
  dynamo().client.middlewareStack.remove('recordRequests');
  await ssm?.stop();
});

let ipCounter = 0;
const freshIp = () => `203.0.113.${++ipCounter}`;

function login(ip: string, email: string, password: string) {
  const event = apiEvent({ method: 'POST', route: '/api/auth/session', body: { email, password } });
  event.requestContext.http.sourceIp = ip;
  return invoke(handler, event);
}

async function recorded<T>(fn: () => Promise<T>): Promise<{ result: T; sent: Sent[] }> {
  recording = [];
  try {
    return { result: await fn(), sent: recording };
  } finally {
    recording = undefined;
  }
}

const windowIndex = (seconds: number) => Math.floor(Date.now() / 1000 / seconds);
async function counter(setting: 'loginFailuresPerIp' | 'loginFailuresPerEmail', client: string) {
  const { client: db, table } = dynamo();
  const { Item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: { pk: `${limitKeyPrefix('$visits')}${setting}#${client}`, sk: `w#${windowIndex(900)}` },
      ConsistentRead: true,
    }),
  );
  return Number(Item?.n ?? 0);
}

describe('a refused login costs one small read and no write', () => {
  it('a locked email (right password, any IP): one BatchGetItem of the two counters, nothing written', async () => {
    const user = await newUser();
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await login(ip, user.email, 'wrong password!')).status).toBe(401);

    emf.clear();
    for (const from of [ip, freshIp()]) {
      const { result, sent } = await recorded(() => login(from, user.email, 'correct horse battery'));
      expect(result.status).toBe(429);
      expect(Number(result.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(sent.map((s) => s.command)).toEqual(['BatchGetItemCommand']);
      // Consistent reads of at most two items under 4 KB (1 RCU each), and no write at all.
      const read = sent.reduce((a, s) => a + s.read, 0);
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThanOrEqual(2);
      expect(sent.reduce((a, s) => a + s.write, 0)).toBe(0);
    }
    // Each refusal is counted by the limit that refused it (the email's), even without a write.
    expect(emf.sum('LimitHits', { limit: 'loginFailuresPerEmail' })).toBe(2);
    expect(emf.sum('LimitHits', { limit: 'loginFailuresPerIp' })).toBe(0);
    // A refused attempt checked no password, so it is not a failed login of the IP either.
    expect(await counter('loginFailuresPerIp', ip)).toBe(5);
  });

  it('a locked IP: the same single read, for a known email or not', async () => {
    const user = await newUser();
    const ip = freshIp();
    const { client: db, table } = dynamo();
    // The IP at its 100 failures, as the limiter leaves it.
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `${limitKeyPrefix('$visits')}loginFailuresPerIp#${ip}`, sk: `w#${windowIndex(900)}` },
        UpdateExpression: 'SET n = :n, expiresAt = :exp',
        ExpressionAttributeValues: { ':n': 100, ':exp': Math.floor(Date.now() / 1000) + 1000 },
      }),
    );
    emf.clear();
    for (const email of [user.email, `${randomUUID()}@example.com`]) {
      const { result, sent } = await recorded(() => login(ip, email, 'correct horse battery'));
      expect(result.status).toBe(429);
      expect(sent.map((s) => s.command)).toEqual(['BatchGetItemCommand']);
      expect(sent.reduce((a, s) => a + s.write, 0)).toBe(0);
      expect(await counter('loginFailuresPerEmail', limitClientDigest(email.toLowerCase()))).toBe(0);
    }
    expect(emf.sum('LimitHits', { limit: 'loginFailuresPerIp' })).toBe(2);
    // Another IP still logs in.
    expect((await login(freshIp(), user.email, 'correct horse battery')).status).toBe(200);
  });

  it('an allowed login still counts before checking: read, then the two conditional takes', async () => {
    const user = await newUser();
    const ip = freshIp();
    const { result, sent } = await recorded(() => login(ip, user.email, 'wrong password!'));
    expect(result.status).toBe(401);
    expect(sent.map((s) => s.command).slice(0, 3)).toEqual([
      'BatchGetItemCommand',
      'UpdateItemCommand',
      'UpdateItemCommand',
    ]);
    expect(await counter('loginFailuresPerIp', ip)).toBe(1);
  });
});
