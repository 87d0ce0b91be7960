import { randomUUID } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EDB_MARKERS, enqueue, requestKey } from './assistance-shared.js';
import { doc, type Event, refuse, reply, TABLE, verifyJwt } from './shared.js';

interface Destination {
  channel: string;
  settings: Record<string, unknown>;
}
interface Rule {
  topic: string;
  destination: Destination;
  fallback?: Destination;
}

const normalize = (topic: string) => topic.trim().toLowerCase();

/** A rule document's entry → topic, destination and fallback (every other field is the channel's settings). */
const destinationOf = ({ channel, topic: _t, fallback: _f, ...settings }: Record<string, unknown>) => ({
  channel: channel as string,
  settings,
});
const parse = (text: string): Rule[] =>
  (JSON.parse(text) as { rules: Record<string, unknown>[] }).rules.map((raw) => ({
    topic: normalize(raw.topic as string),
    destination: destinationOf(raw),
    ...(raw.fallback ? { fallback: destinationOf(raw.fallback as Record<string, unknown>) } : {}),
  }));

/** The built-in defaults (rules.ts DEFAULT_ROUTING_RULES), until a parameter has been read. */
const DEFAULTS = parse(
  JSON.stringify({
    rules: [
      { topic: 'sales', channel: 'slack', fallback: { channel: 'email', recipients: ['sales@example.com'] } },
      { topic: 'pricing', channel: 'email', recipients: ['pricing@example.com'] },
    ],
  }),
);

const PARAMETER = process.env.PARAM_ASSISTANCE_ROUTING_RULES ?? '';
const MAX_AGE_MS = 60_000;
let ssm: SSMClient | undefined;
let lastGood: Rule[] | undefined;
let checkedAt: number | undefined;

/** The rules parameter, read at most once a minute per container (rules-source.ts); the last good on failure. */
async function currentRules(): Promise<Rule[]> {
  const startedAt = Date.now();
  if (checkedAt === undefined || startedAt - checkedAt >= MAX_AGE_MS) {
    ssm ??= new SSMClient({ maxAttempts: 2 });
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: PARAMETER, WithDecryption: true }));
      if (out.Parameter?.Value !== undefined) lastGood = parse(out.Parameter.Value);
    } catch (error) {
      console.error('routing rules could not be read; keeping the last good rules', error);
    }
    checkedAt = startedAt;
  }
  return lastGood ?? DEFAULTS;
}

export const handler = async (event: Event) => {
  const caller = await verifyJwt(event, 'request-assistance');
  if ('statusCode' in caller) return caller;
  let input: { topic: string; description: string };
  try {
    input = JSON.parse(event.body ?? '');
  } catch {
    return refuse(event, 400, 'Request body is not valid JSON.');
  }
  const rules = await currentRules();
  const topic = normalize(input.topic);
  const rule = rules.find((r) => r.topic === topic || r.topic === '*');
  if (!rule) {
    const known = [...new Set(rules.map((r) => r.topic).filter((t) => t !== '*'))];
    return refuse(event, 422, 'Validation failed.', {
      fields: { topic: [`must be one of the known topics: ${known.join(', ')}`] },
    });
  }
  const requestId = randomUUID();
  const createdAt = new Date().toISOString();
  const channel = rule.destination.channel;
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        requestId,
        ownerId: caller.sub,
        topic,
        description: input.description,
        createdAt,
        channel,
        settings: rule.destination.settings,
        ...(rule.fallback ? { fallback: rule.fallback } : {}),
        status: 'queued',
        attempts: 0,
        ...requestKey(requestId),
        ...EDB_MARKERS,
      },
      ConditionExpression: 'attribute_not_exists(pk) AND attribute_not_exists(sk)',
    }),
  );
  try {
    await enqueue(requestId, channel);
  } catch (error) {
    console.error('could not queue the assistance request', error);
    await doc
      .send(
        new UpdateCommand({
          TableName: TABLE,
          Key: requestKey(requestId),
          UpdateExpression: 'SET #s = :failed, failureReason = :why, requestId = :id, #e = :e, #v = :v',
          ConditionExpression: 'attribute_exists(pk) AND attribute_exists(sk)',
          ExpressionAttributeNames: { '#s': 'status', '#e': '__edb_e__', '#v': '__edb_v__' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':why': 'enqueue_failed',
            ':id': requestId,
            ':e': 'request',
            ':v': '1',
          },
        }),
      )
      .catch(() => undefined);
    return refuse(event, 503, 'The request could not be queued for delivery, retry later.', {
      headers: { 'retry-after': '5' },
    });
  }
  return reply(202, { id: requestId, topic, channel, status: 'queued', created_at: createdAt });
};
