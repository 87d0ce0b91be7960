import { randomUUID } from 'node:crypto';
import { apiEvent } from '../support/api-event.js';
import { startTestIssuer } from '../support/issuer.js';

export const iso = (ms: number) => new Date(ms).toISOString();
export const uid = (prefix = 'user') => `${prefix}-${randomUUID()}`;

export interface TaskEventInput {
  event?: string;
  timestamp: string;
  userId: string;
  id: string;
  content?: string;
  isCompleted?: boolean;
}

export const taskEvent = (e: TaskEventInput) => ({
  event: e.event ?? 'created',
  timestamp: e.timestamp,
  metadata: {
    userId: e.userId,
    id: e.id,
    content: e.content ?? 'buy milk',
    isCompleted: e.isCompleted ?? false,
  },
});

export const webhookEvent = (body: unknown, headers: Record<string, string> = {}) =>
  apiEvent({ method: 'POST', route: '/webhook', body, headers });

/** A JWKS-backed issuer for the read routes (sets the stage's JWT_* settings). */
export const startIssuer = () => startTestIssuer('tasks');
