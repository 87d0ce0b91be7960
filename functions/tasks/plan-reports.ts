import { logger, withMetrics } from '@svc/platform';
import { Reports, sqsReportQueue } from '@svc/tasks';
import { plannerConfig } from '@svc/tasks/config';
import type { ScheduledEvent } from 'aws-lambda';

/**
 * Run by EventBridge Scheduler (and locally by the local scheduler). The event carries nothing the
 * planner needs: the window comes from the stored cursor, so a late, retried or repeated invocation
 * is safe. It claims the window and enqueues one shard job per candidate shard (constant work).
 */
export const handler = withMetrics(async (event: Partial<ScheduledEvent> = {}) => {
  const { REPORT_INTERVAL_MINUTES, REPORT_RETENTION_DAYS } = plannerConfig();
  const outcome = await Reports.planReports({
    queue: sqsReportQueue(),
    intervalMinutes: REPORT_INTERVAL_MINUTES,
    retentionDays: REPORT_RETENTION_DAYS,
  });
  logger.info('report run planned', { invocation: event.id, ...outcome });
  return outcome;
}, 'TasksPlanReports');
