import * as v from 'valibot';
import { CHANNELS, channelOf } from './channels/index.js';

/** The catch-all topic: matches any topic no earlier rule matched. */
export const CATCH_ALL = '*';

/** A channel plus its channel-specific settings (an email rule's recipients). */
export interface Destination {
  channel: string;
  settings: Record<string, unknown>;
}

export interface RoutingRule {
  /** Lower-cased and trimmed; `*` for the catch-all. */
  topic: string;
  destination: Destination;
  /** Used once, when delivery through `destination` fails for good. */
  fallback?: Destination;
}

export interface RoutingRules {
  rules: readonly RoutingRule[];
}

/**
 * The rules that apply until a valid parameter has been read. They are also the local runtime's seed
 * for the SSM parameter, so this is the document format an operator writes (see README).
 */
export const DEFAULT_ROUTING_RULES = {
  rules: [
    { topic: 'sales', channel: 'slack', fallback: { channel: 'email', recipients: ['sales@example.com'] } },
    { topic: 'pricing', channel: 'email', recipients: ['pricing@example.com'] },
  ],
} as const;

export const normalizeTopic = (topic: string) => topic.trim().toLowerCase();

const channelNames = () => CHANNELS.map((c) => c.type);

const DestinationShape = v.looseObject(
  { channel: v.string('channel must be a string') },
  'a fallback must be an object',
);

const RuleShape = v.looseObject(
  {
    topic: v.pipe(
      v.string('topic must be a string'),
      v.trim(),
      v.minLength(1, 'topic must not be empty'),
      v.maxLength(100, 'topic must be at most 100 characters'),
    ),
    channel: v.string('channel must be a string'),
    fallback: v.optional(DestinationShape),
  },
  'each rule must be an object',
);

const RulesDocument = v.object(
  {
    rules: v.pipe(
      v.array(v.unknown(), 'rules must be a list'),
      v.minLength(1, 'at least one rule is needed'),
      v.maxLength(200, 'at most 200 rules'),
    ),
  },
  'the rules document must be an object with a "rules" list',
);

export class InvalidRules extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid routing rules: ${problems.join('; ')}`);
    this.name = 'InvalidRules';
  }
}

/** Channel type check, then the channel's own strict settings schema on the remaining fields. */
function destinationOf(
  raw: Record<string, unknown>,
  where: string,
  problems: string[],
): Destination | undefined {
  const { channel, topic: _topic, fallback: _fallback, ...rest } = raw;
  const type = typeof channel === 'string' ? channelOf(channel) : undefined;
  if (!type) {
    problems.push(`${where}.channel: must be one of: ${channelNames().join(', ')}`);
    return undefined;
  }
  const settings = v.safeParse(type.settings, rest);
  if (!settings.success) {
    for (const issue of settings.issues) {
      const path = v.getDotPath(issue);
      problems.push(`${where}${path ? `.${path}` : ''}: ${issue.message}`);
    }
    return undefined;
  }
  return { channel: type.type, settings: settings.output as Record<string, unknown> };
}

/** Validates a rules document (already JSON-parsed). Throws InvalidRules listing every problem. */
export function parseRules(document: unknown): RoutingRules {
  const shape = v.safeParse(RulesDocument, document);
  if (!shape.success) {
    throw new InvalidRules(shape.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`));
  }
  const problems: string[] = [];
  const rules: RoutingRule[] = [];
  shape.output.rules.forEach((candidate, index) => {
    const where = `rules.${index}`;
    const parsed = v.safeParse(RuleShape, candidate);
    if (!parsed.success) {
      for (const issue of parsed.issues) {
        const path = v.getDotPath(issue);
        problems.push(`${where}${path ? `.${path}` : ''}: ${issue.message}`);
      }
      return;
    }
    const raw = parsed.output;
    const destination = destinationOf(raw, where, problems);
    let fallback: Destination | undefined;
    if (raw.fallback) {
      fallback = destinationOf(raw.fallback, `${where}.fallback`, problems);
      if (fallback && destination && fallback.channel === destination.channel) {
        problems.push(`${where}.fallback.channel: must differ from the rule's channel`);
      }
    }
    if (destination) {
      rules.push({ topic: normalizeTopic(raw.topic), destination, ...(fallback ? { fallback } : {}) });
    }
  });
  if (problems.length > 0) throw new InvalidRules(problems);
  return { rules };
}

/** Parses the parameter's text (JSON) and validates it. */
export function parseRulesText(text: string): RoutingRules {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new InvalidRules(['the parameter is not valid JSON']);
  }
  return parseRules(document);
}

/** First match wins; the catch-all matches anything; comparison is case-insensitive. */
export function route(rules: RoutingRules, topic: string): RoutingRule | undefined {
  const wanted = normalizeTopic(topic);
  return rules.rules.find((rule) => rule.topic === wanted || rule.topic === CATCH_ALL);
}

/** The named topics callers may use, in rule order, for the 422 answer. */
export function knownTopics(rules: RoutingRules): string[] {
  return [...new Set(rules.rules.map((r) => r.topic).filter((t) => t !== CATCH_ALL))];
}

export const DEFAULT_RULES: RoutingRules = parseRules(DEFAULT_ROUTING_RULES);
