import { randomUUID } from 'node:crypto';
import { logger, NotFound, ServiceUnavailable, ValidationFailed } from '@svc/platform';
import { assistanceDb } from './entities.js';
import type { Enqueue } from './queues.js';
import { knownTopics, normalizeTopic, route } from './rules.js';
import type { RulesSource } from './rules-source.js';
import type { AcceptedRequest, AssistanceInput, AssistanceRequest } from './schemas.js';

export interface RequestDeps {
  rules: RulesSource;
  enqueue: Enqueue;
  now?: () => Date;
  newId?: () => string;
}

/**
 * Routes the topic, stores the request as queued, then hands it to the channel's queue.
 * If the hand-off fails the caller gets 503 (so it retries and nothing is silently lost) and the
 * stored request is marked failed with reason `enqueue_failed`, so it never looks pending forever.
 */
export async function requestAssistance(
  deps: RequestDeps,
  ownerId: string,
  input: AssistanceInput,
): Promise<AcceptedRequest> {
  const rules = await deps.rules.current();
  const rule = route(rules, input.topic);
  if (!rule) {
    const known = knownTopics(rules);
    throw new ValidationFailed({ topic: [`must be one of the known topics: ${known.join(', ')}`] });
  }
  const requestId = (deps.newId ?? randomUUID)();
  const createdAt = (deps.now?.() ?? new Date()).toISOString();
  const topic = normalizeTopic(input.topic);
  const channel = rule.destination.channel;
  const db = assistanceDb();
  await db.entities.request
    .create({
      requestId,
      ownerId,
      topic,
      description: input.description,
      createdAt,
      channel,
      settings: rule.destination.settings,
      ...(rule.fallback ? { fallback: rule.fallback } : {}),
      status: 'queued',
      attempts: 0,
    })
    .go();
  try {
    await deps.enqueue({ requestId, channel });
  } catch (error) {
    logger.error('could not queue the assistance request', { error: error as Error, requestId, channel });
    await db.entities.request
      .patch({ requestId })
      .set({ status: 'failed', failureReason: 'enqueue_failed' })
      .go()
      .catch((markError: unknown) =>
        logger.error('could not mark the unqueued request failed', { error: markError as Error, requestId }),
      );
    throw new ServiceUnavailable('The request could not be queued for delivery, retry later.', 5);
  }
  return { id: requestId, topic, channel, status: 'queued', created_at: createdAt };
}

/** A request is visible to the caller (token `sub`) that made it; anyone else gets the same 404. */
export async function getRequest(ownerId: string, requestId: string): Promise<AssistanceRequest> {
  const { data } = await assistanceDb().entities.request.get({ requestId }).go({ consistent: true });
  if (!data || data.ownerId !== ownerId) throw new NotFound('Assistance request not found.');
  return {
    id: data.requestId,
    topic: data.topic,
    channel: data.channel,
    status: data.status,
    attempts: data.attempts,
    delivered_at: data.deliveredAt ?? null,
  };
}
