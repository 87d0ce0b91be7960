import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Platform } from './platform.js';
import type { ServiceApi } from './service-api.js';
import type { SloAlarms } from './slo.js';

export interface OpsDashboardProps {
  platform: Platform;
  /** Service name → its ServiceApi: every function, queue and DLQ shown comes from these. */
  serviceApis: ReadonlyMap<string, ServiceApi>;
  /** The SLO alarms' metrics: a business row per service (README "Observability"). */
  slo?: SloAlarms;
}

/** `svc-<stage>`: the one dashboard of a stage. */
export const dashboardName = (stage: string) => `svc-${stage}`;

const PERIOD = Duration.minutes(5);
const WIDTH = 24;
const HALF = WIDTH / 2;
const THIRD = WIDTH / 3;
const HEIGHT = 6;

/**
 * The stage's dashboard, built from what the stack created (nothing listed by hand, so a new function,
 * queue or DLQ appears on it by itself): the API on top, then every dead-letter queue (anything above
 * zero there needs a human), then one row per service with its functions' errors and p99 durations, its
 * business rows (per-route 5xx rate and p99, the service's own metrics), and its queues' depth and age of
 * the oldest message.
 */
export class OpsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const { platform, serviceApis } = props;
    const apis = [...serviceApis.values()];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: dashboardName(platform.stage.name),
      defaultInterval: Duration.hours(3),
    });

    const api = platform.httpApi;
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# svc ${platform.stage.name}: the API, every dead-letter queue, then each service`,
        width: WIDTH,
        height: 1,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'API requests',
        [api.metricCount({ period: PERIOD, statistic: 'Sum', label: 'requests' })],
        THIRD,
      ),
      graph(
        'API latency p99 (ms)',
        [
          api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'latency p99' }),
          api.metricIntegrationLatency({
            period: PERIOD,
            statistic: 'p99',
            label: 'integration latency p99',
          }),
        ],
        THIRD,
      ),
      graph(
        'API 4xx / 5xx',
        [
          api.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
          api.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
        ],
        THIRD,
      ),
    );

    const deadLetterQueues: [string, sqs.IQueue][] = apis.flatMap((a) =>
      [...a.deadLetterQueues].map(([name, dlq]): [string, sqs.IQueue] => [name, dlq]),
    );
    if (platform.alarmDeliveryDlq) deadLetterQueues.push(['alarm-delivery', platform.alarmDeliveryDlq]);
    if (deadLetterQueues.length > 0) {
      this.dashboard.addWidgets(
        graph(
          'Dead-letter queues: messages visible (should be 0)',
          deadLetterQueues.map(([name, dlq]) => visible(dlq, `${name} dlq`)),
          WIDTH,
        ),
      );
    }

    for (const serviceApi of apis) {
      const service = serviceApi.service.name;
      const functions = [...serviceApi.functions.values()];
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## ${service}`, width: WIDTH, height: 1 }),
      );
      this.dashboard.addWidgets(
        graph(
          `${service}: function errors`,
          functions.map((fn) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: fn.functionId })),
          HALF,
        ),
        graph(
          `${service}: function duration p99 (ms)`,
          functions.map((fn) =>
            fn.metricDuration({ period: PERIOD, statistic: 'p99', label: fn.functionId }),
          ),
          HALF,
        ),
      );
      for (const row of props.slo?.businessRows(service, serviceApi) ?? []) this.dashboard.addWidgets(...row);
      const queues = [...serviceApi.queues];
      if (queues.length > 0) {
        this.dashboard.addWidgets(
          graph(
            `${service}: queue depth (messages visible)`,
            queues.map(([name, queue]) => visible(queue, name)),
            HALF,
          ),
          graph(
            `${service}: age of oldest message (s)`,
            queues.map(([name, queue]) =>
              queue.metricApproximateAgeOfOldestMessage({
                period: PERIOD,
                statistic: 'Maximum',
                label: name,
              }),
            ),
            HALF,
          ),
        );
      }
    }
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[], width: number): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width, height: HEIGHT });
}

function visible(queue: sqs.IQueue, label: string): cloudwatch.Metric {
  return queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label });
}
