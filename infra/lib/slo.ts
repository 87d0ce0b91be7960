import { AssistanceMetric } from '@svc/assistance/metrics';
import { DispatchMetric } from '@svc/dispatch/metrics';
import type { statusClass } from '@svc/platform/http';
import { TasksMetric } from '@svc/tasks/metrics';
import { VisitsMetric } from '@svc/visits/metrics';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Construct } from 'constructs';
import type { Platform } from './platform.js';
import type { ServiceApi } from './service-api.js';
import { metricsNamespace } from './stage-config.js';

/**
 * The service level objectives an on-call engineer is paged for (README "Observability"), read from the
 * business metrics the functions write as EMF (packages/platform/src/metrics.ts). Each alarm says what
 * users feel; where one event is normal (a slow request, one 5xx among thousands, one provider failure),
 * it alarms on a rate over a window with a minimum volume, not on the event.
 */
export const SLO = {
  /** Share of final SMS outcomes that are `delivered`, over 15 minutes, with at least 20 outcomes. */
  smsDeliverySuccess: { min: 0.95, minVolume: 20, period: Duration.minutes(15) },
  /** p95 from the 202 to the provider's `delivered` report, per provider, three 5-minute periods in a row. */
  smsTimeToDeliveredP95Ms: 60_000,
  /** Share of 5xx answers of one route over 5 minutes (two periods out of three), at least 20 requests. */
  api5xxRate: { max: 0.05, minVolume: 20 },
  /** p99 latency of one route as its handler measured it, three 5-minute periods in a row. */
  apiP99Ms: 2_000,
} as const;

const FIVE_MINUTES = Duration.minutes(5);
const OUTCOMES = ['success', 'client_error', 'server_error'] as const satisfies readonly ReturnType<
  typeof statusClass
>[];
const CHANNELS = ['slack', 'email'] as const;
/** What the webhook metrics' outcomes and the report outcomes can be (their code is the source). */
const WEBHOOK_OUTCOMES = ['applied', 'stale', 'repeat', 'rejected'] as const;
const REPORT_OUTCOMES = ['stored', 'exists', 'empty'] as const;
const WEBHOOK_EVENTS = ['created', 'updated', 'deleted'] as const;

export interface SloAlarmsProps {
  platform: Platform;
  serviceApis: ReadonlyMap<string, ServiceApi>;
}

/** The SLO alarms of a stage (all to the stage's alarm topic) and the metrics its dashboard's business rows show. */
export class SloAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly namespace: string;
  private readonly platform: Platform;

  constructor(scope: Construct, id: string, props: SloAlarmsProps) {
    super(scope, id);
    this.platform = props.platform;
    this.namespace = metricsNamespace(props.platform.stage);
    const stage = props.platform.stage;

    for (const [service, api] of props.serviceApis) {
      for (const route of api.service.routes) this.routeAlarms(service, route.functionName);
    }
    if (props.serviceApis.has('dispatch')) this.dispatchAlarms();
    if (props.serviceApis.has('tasks')) {
      const intervalSeconds = stage.settings.reportIntervalMinutes * 60;
      this.add('ReportRunLagAlarm', {
        alarmDescription:
          `Reports are running late (stage ${stage.name}): the planner claimed a window more than one interval ` +
          `(${stage.settings.reportIntervalMinutes} min) after it ended, or did not run for two intervals.`,
        metric: this.metric('tasks', TasksMetric.runLag, {}, 'Maximum', this.periodOf(2 * intervalSeconds)),
        threshold: intervalSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No run at all is the worst lag of all.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    if (props.serviceApis.has('assistance')) {
      const failed = Object.fromEntries(
        CHANNELS.map((channel, i) => [
          `f${i}`,
          this.metric('assistance', AssistanceMetric.deliveries, { channel, outcome: 'failed' }, 'Sum'),
        ]),
      );
      this.add('AssistanceDeliveryFailuresAlarm', {
        alarmDescription:
          `An assistance request could not be delivered on any channel (stage ${stage.name}): ` +
          'a failed delivery is final (retries and the fallback are spent), so one is a request nobody got.',
        metric: new cloudwatch.MathExpression({
          expression: Object.keys(failed)
            .map((k) => `FILL(${k}, 0)`)
            .join(' + '),
          usingMetrics: failed,
          period: FIVE_MINUTES,
          label: 'assistance deliveries failed',
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }

  /** One business metric of this stage's namespace. */
  metric(
    service: string,
    name: string,
    dimensions: Record<string, string>,
    statistic: string,
    period: Duration = FIVE_MINUTES,
    label?: string,
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: name,
      dimensionsMap: { service, ...dimensions },
      statistic,
      period,
      ...(label ? { label } : {}),
    });
  }

  /** A period CloudWatch accepts for an alarm (a multiple of 60 s, at most a day). */
  private periodOf(seconds: number): Duration {
    return Duration.seconds(Math.min(86_400, Math.max(60, Math.ceil(seconds / 60) * 60)));
  }

  private add(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(new SnsAction(this.platform.alarmTopic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** The route's share of 5xx answers (0 without traffic), as a math expression over ApiRequests. */
  routeErrorRate(service: string, route: string, period: Duration = FIVE_MINUTES) {
    // Ids unique per route: a dashboard graph holds the expressions of every route of a service.
    const key = route.charAt(0).toLowerCase() + route.slice(1);
    const id = (outcome: string) => `${key}_${outcome}`;
    const using = Object.fromEntries(
      OUTCOMES.map((outcome) => [
        id(outcome),
        this.metric(service, 'ApiRequests', { route, outcome }, 'Sum', period),
      ]),
    );
    const total = OUTCOMES.map((outcome) => `FILL(${id(outcome)}, 0)`).join(' + ');
    return new cloudwatch.MathExpression({
      expression: `IF((${total}) >= ${SLO.api5xxRate.minVolume}, FILL(${id('server_error')}, 0) / (${total}), 0)`,
      usingMetrics: using,
      period,
      label: `${route} 5xx rate`,
    });
  }

  private routeAlarms(service: string, route: string) {
    const stage = this.platform.stage.name;
    this.add(`${route}ErrorRateAlarm`, {
      alarmDescription:
        `${route} answered 5xx to more than ${SLO.api5xxRate.max * 100} % of at least ${SLO.api5xxRate.minVolume} ` +
        `requests in 5 minutes, twice in 15 (stage ${stage}).`,
      metric: this.routeErrorRate(service, route),
      threshold: SLO.api5xxRate.max,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add(`${route}LatencyAlarm`, {
      alarmDescription: `${route} p99 latency over ${SLO.apiP99Ms} ms for 15 minutes (stage ${stage}).`,
      metric: this.metric(service, 'ApiLatency', { route }, 'p99'),
      threshold: SLO.apiP99Ms,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Delivered share of the final outcomes (delivery reports plus sends that failed for good). */
  smsSuccessRate(period: Duration = SLO.smsDeliverySuccess.period) {
    const providers = Object.keys(this.platform.stage.settings.providerWeights);
    const using: Record<string, cloudwatch.IMetric> = {};
    const delivered: string[] = [];
    const notDelivered: string[] = [];
    providers.forEach((provider, i) => {
      for (const outcome of ['delivered', 'failed', 'invalid'] as const) {
        const id = `${outcome}${i}`;
        using[id] = this.metric('dispatch', DispatchMetric.delivery, { provider, outcome }, 'Sum', period);
        (outcome === 'delivered' ? delivered : notDelivered).push(`FILL(${id}, 0)`);
      }
    });
    using.gaveUp = this.metric('dispatch', DispatchMetric.sendJobs, { outcome: 'failed' }, 'Sum', period);
    notDelivered.push('FILL(gaveUp, 0)');
    const ok = delivered.join(' + ');
    const all = `${ok} + ${notDelivered.join(' + ')}`;
    return new cloudwatch.MathExpression({
      expression: `IF((${all}) >= ${SLO.smsDeliverySuccess.minVolume}, (${ok}) / (${all}), 1)`,
      usingMetrics: using,
      period,
      label: 'SMS delivered share',
    });
  }

  private dispatchAlarms() {
    const stage = this.platform.stage;
    this.add('SmsDeliverySuccessAlarm', {
      alarmDescription:
        `Less than ${SLO.smsDeliverySuccess.min * 100} % of SMS outcomes were delivered in 15 minutes ` +
        `(at least ${SLO.smsDeliverySuccess.minVolume} outcomes; stage ${stage.name}).`,
      metric: this.smsSuccessRate(),
      threshold: SLO.smsDeliverySuccess.min,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const provider of Object.keys(stage.settings.providerWeights)) {
      this.add(`SmsTimeToDelivered${provider}Alarm`, {
        alarmDescription:
          `p95 time from accepted to delivered through ${provider} over ${SLO.smsTimeToDeliveredP95Ms / 1000} s ` +
          `for 15 minutes (stage ${stage.name}).`,
        metric: this.metric('dispatch', DispatchMetric.timeToDelivered, { provider }, 'p95'),
        threshold: SLO.smsTimeToDeliveredP95Ms,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }

  /** Graph rows of business metrics for one service (empty for a service that writes none). */
  businessRows(service: string, api: ServiceApi): cloudwatch.IWidget[][] {
    const sum = (name: string, dims: Record<string, string> = {}, label?: string) =>
      this.metric(service, name, dims, 'Sum', FIVE_MINUTES, label ?? name);
    const rows: cloudwatch.IWidget[][] = [];
    const routes = api.service.routes.map((r) => r.functionName);
    if (routes.length > 0) {
      rows.push([
        graph(
          `${service}: 5xx rate per route`,
          routes.map((route) => this.routeErrorRate(service, route)),
          12,
        ),
        graph(
          `${service}: p99 latency per route (ms)`,
          routes.map((route) => this.metric(service, 'ApiLatency', { route }, 'p99', FIVE_MINUTES, route)),
          12,
        ),
      ]);
    }
    const providers = Object.keys(this.platform.stage.settings.providerWeights);
    switch (service) {
      case 'visits':
        rows.push([
          graph(
            'visits: requested / completed / cancelled',
            [VisitsMetric.requested, VisitsMetric.completed, VisitsMetric.cancelled].map((n) => sum(n)),
            12,
          ),
          graph(
            'visits: minutes moved and fee minutes',
            [VisitsMetric.minutesMoved, VisitsMetric.fees].map((n) => sum(n)),
            12,
          ),
        ]);
        break;
      case 'tasks':
        rows.push([
          graph(
            'tasks: webhook events by type and outcome',
            WEBHOOK_EVENTS.flatMap((event) =>
              WEBHOOK_OUTCOMES.map((outcome) =>
                sum(TasksMetric.webhook(event), { outcome }, `${event} ${outcome}`),
              ),
            ),
            8,
          ),
          graph(
            'tasks: reports by outcome',
            REPORT_OUTCOMES.map((outcome) => sum(TasksMetric.reports, { outcome }, outcome)),
            8,
          ),
          graph(
            'tasks: report run lag (s)',
            [this.metric(service, TasksMetric.runLag, {}, 'Maximum', FIVE_MINUTES, 'lag')],
            8,
          ),
        ]);
        break;
      case 'assistance':
        rows.push([
          graph(
            'assistance: deliveries per channel and outcome',
            CHANNELS.flatMap((channel) =>
              ['delivered', 'failed', 'fallback', 'retry'].map((outcome) =>
                sum(AssistanceMetric.deliveries, { channel, outcome }, `${channel} ${outcome}`),
              ),
            ),
            12,
          ),
          graph(
            'assistance: fallbacks from each channel',
            CHANNELS.map((channel) => sum(AssistanceMetric.fallbacks, { channel }, channel)),
            12,
          ),
        ]);
        break;
      case 'dispatch':
        rows.push([
          graph(
            'dispatch: accepted, sent per provider, failovers',
            [
              sum(DispatchMetric.accepted, {}, 'accepted'),
              ...providers.map((provider) => sum(DispatchMetric.sent, { provider }, `sent ${provider}`)),
              ...providers.map((provider) =>
                sum(DispatchMetric.failover, { provider }, `failover to ${provider}`),
              ),
            ],
            8,
          ),
          graph(
            'dispatch: delivery reports per provider',
            providers.flatMap((provider) =>
              ['delivered', 'failed', 'invalid'].map((outcome) =>
                sum(DispatchMetric.delivery, { provider, outcome }, `${provider} ${outcome}`),
              ),
            ),
            8,
          ),
          graph('dispatch: delivered share (SLO)', [this.smsSuccessRate()], 8),
        ]);
        rows.push([
          graph(
            'dispatch: accepted → delivered p95 (ms)',
            providers.map((provider) =>
              this.metric(
                service,
                DispatchMetric.timeToDelivered,
                { provider },
                'p95',
                FIVE_MINUTES,
                provider,
              ),
            ),
            8,
          ),
          graph(
            'dispatch: provider call p95 (ms)',
            providers.map((provider) =>
              this.metric(
                service,
                DispatchMetric.providerLatency,
                { provider, outcome: 'accepted' },
                'p95',
                FIVE_MINUTES,
                provider,
              ),
            ),
            8,
          ),
          graph(
            'dispatch: breakers and status callbacks',
            [
              ...providers.map((provider) =>
                sum(DispatchMetric.breakerOpened, { provider }, `opened ${provider}`),
              ),
              ...['delivered', 'failed'].map((outcome) =>
                sum(DispatchMetric.statusCallbacks, { outcome }, `callback ${outcome}`),
              ),
            ],
            8,
          ),
        ]);
        break;
    }
    return rows;
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[], width: number): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width, height: 6 });
}
