import { randomUUID } from 'node:crypto';
import type { StageConfig } from '@svc/infra/stage-config';
import type { ScheduledJob } from '@svc/platform/routes';
import { LOCAL_REGION } from './dynamodb.js';
import { LOCAL_ACCOUNT_ID } from './environment.js';
import { scaleSeconds } from './sqs-clock.js';

/**
 * What EventBridge Scheduler hands a Lambda target when the schedule sets no `Input` (the CDK app sets
 * none): its "default notification", whose `detail` is the string `"{}"`, not an object.
 */
export function scheduledEvent(stage: StageConfig, job: ScheduledJob) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    account: LOCAL_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [
      `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:schedule/default/svc-${stage.name}-${job.schedule}`,
    ],
    detail: '{}',
  };
}

/** Lambda's waits before the second and third attempt of a failed asynchronous invocation (AWS seconds). */
export const ASYNC_RETRY_DELAYS_SECONDS = [60, 120] as const;

/** How one asynchronous invocation of a scheduled job ended. */
export interface AsyncDelivery {
  eventId: string;
  /** 1 to 3: Lambda runs a failing asynchronous invocation at most three times. */
  attempts: number;
  outcome: 'succeeded' | 'dead-lettered';
  /** The at-least-once copy: the same event delivered a second time. */
  duplicate: boolean;
  errors: string[];
}

export interface SchedulerOptions {
  stage: StageConfig;
  /** Local time factor (sqs-clock.ts): Lambda's retry waits are scaled by it. */
  factor: number;
  /**
   * Every n-th run of a schedule is delivered twice (at-least-once delivery, as Scheduler and Lambda's
   * event queue both allow), so consumers prove their idempotency; 0 never. Deterministic on purpose.
   */
  duplicateEvery: number;
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** The function's dead-letter queue (the CDK app gives each scheduled function one). */
  deadLetter(job: ScheduledJob, event: unknown, error: unknown): Promise<void>;
  log(functionName: string, line: string): void;
}

/**
 * EventBridge Scheduler with a Lambda target, locally: each run is an asynchronous invocation.
 * Scheduler hands the event to Lambda's event queue (that hand-off cannot fail locally, so the
 * schedule's own RetryPolicy and DLQ, which only cover a failed hand-off, never come into play); Lambda
 * runs the function, and on an error tries twice more after 1 and 2 minutes (scaled by the local time
 * factor), then sends the event to the function's DLQ with the error, as Lambda does.
 */
export class LocalScheduler {
  private readonly runs = new Map<string, number>();

  constructor(private readonly options: SchedulerOptions) {}

  /** One scheduled run; resolves once every delivery of it is done (one, or two for a duplicate). */
  async fire(job: ScheduledJob): Promise<AsyncDelivery[]> {
    const run = (this.runs.get(job.schedule) ?? 0) + 1;
    this.runs.set(job.schedule, run);
    const event = scheduledEvent(this.options.stage, job);
    const every = this.options.duplicateEvery;
    const twice = every > 0 && run % every === 0;
    const deliveries = [this.deliver(job, event, false)];
    if (twice) deliveries.push(this.deliver(job, event, true));
    return Promise.all(deliveries);
  }

  private async deliver(
    job: ScheduledJob,
    event: ReturnType<typeof scheduledEvent>,
    duplicate: boolean,
  ): Promise<AsyncDelivery> {
    const errors: string[] = [];
    let lastError: unknown;
    for (let attempt = 1; attempt <= ASYNC_RETRY_DELAYS_SECONDS.length + 1; attempt++) {
      if (attempt > 1) {
        const wait = ASYNC_RETRY_DELAYS_SECONDS[attempt - 2] ?? 0;
        await new Promise((r) => setTimeout(r, scaleSeconds(wait, this.options.factor) * 1000));
      }
      try {
        await this.options.invoke(job.functionName, event);
        return { eventId: event.id, attempts: attempt, outcome: 'succeeded', duplicate, errors };
      } catch (error) {
        lastError = error;
        errors.push(error instanceof Error ? error.message : String(error));
        this.options.log(job.functionName, `scheduled run failed (attempt ${attempt}): ${errors.at(-1)}`);
      }
    }
    await this.options.deadLetter(job, event, lastError);
    return { eventId: event.id, attempts: errors.length, outcome: 'dead-lettered', duplicate, errors };
  }
}
