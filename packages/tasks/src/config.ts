import { intFromEnv, loadConfig } from '@svc/platform';
import * as v from 'valibot';

const nonEmpty = v.pipe(v.string(), v.minLength(1));

const WebhookEnv = v.object({
  /** Full SSM name of the webhook secret; unset, or a parameter that is absent/empty, means unsigned. */
  PARAM_TASKS_WEBHOOK_SECRET: v.optional(v.string(), ''),
  /** `true` (the prod preset): a secret is required, and one that cannot be read is 503, never unsigned. */
  WEBHOOK_SIGNATURE_REQUIRED: v.pipe(
    v.optional(v.picklist(['true', 'false']), 'false'),
    v.transform((s) => s === 'true'),
  ),
  /** Days each delivery stays in a task's audit trail (the stage's taskAuditRetentionDays). */
  TASK_AUDIT_RETENTION_DAYS: v.pipe(intFromEnv(90), v.minValue(1)),
});

const PlannerEnv = v.object({
  QUEUE_URL_TASK_REPORTS: nonEmpty,
  REPORT_INTERVAL_MINUTES: v.pipe(intFromEnv(60), v.minValue(1)),
  REPORT_RETENTION_DAYS: v.pipe(intFromEnv(90), v.minValue(1)),
});

/** How long stored reports are kept (the index's TTL; the bucket's lifecycle rule uses the same setting). */
const RetentionEnv = v.object({
  REPORT_RETENTION_DAYS: v.pipe(intFromEnv(90), v.minValue(1)),
});

const BucketEnv = v.object({
  REPORTS_BUCKET: nonEmpty,
  /** Set locally (the local S3 server); its presence switches the client to path-style addressing. */
  AWS_ENDPOINT_URL_S3: v.optional(v.string(), ''),
});

/** Each function reads only the settings it needs, once per container, on first use. */
function once<T>(read: () => T): () => T {
  let value: T | undefined;
  let loaded = false;
  return () => {
    if (!loaded) {
      value = read();
      loaded = true;
    }
    return value as T;
  };
}

export const webhookConfig = once(() => loadConfig(WebhookEnv));
export const plannerConfig = once(() => loadConfig(PlannerEnv));
export const bucketConfig = once(() => loadConfig(BucketEnv));
export const retentionConfig = once(() => loadConfig(RetentionEnv));
