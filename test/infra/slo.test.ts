import { services } from '@svc/infra/services';
import { SLO } from '@svc/infra/slo';
import { stageConfig } from '@svc/infra/stage-config';
import { METRIC_DIMENSIONS } from '@svc/platform/metrics';
import { describe, expect, it } from 'vitest';
import { type Json, resourcesOfType, synthStage } from './synth.js';

/** The SLO alarms and the dashboard's business rows (issue 19), as CloudFormation receives them. */
const dev = synthStage('dev', { services });
const config = stageConfig('dev');
const alarms = new Map(resourcesOfType(dev.template, 'AWS::CloudWatch::Alarm').map(([id, r]) => [id, r]));
const [topicId] = Object.keys(dev.template.findResources('AWS::SNS::Topic'));
const alarm = (pattern: RegExp) => {
  const found = [...alarms].filter(([id]) => pattern.test(id));
  expect(found, String(pattern)).toHaveLength(1);
  return (found[0] as [string, Json])[1].Properties;
};
/** The metrics an alarm reads: its single metric, or every MetricStat of its math. */
const metricsOf = (
  props: Json,
): { namespace: string; name: string; dimensions: Record<string, string>; stat: string }[] => {
  const stats = props.Metrics
    ? props.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat)
    : [
        {
          Metric: { Namespace: props.Namespace, MetricName: props.MetricName, Dimensions: props.Dimensions },
          Stat: props.ExtendedStatistic ?? props.Statistic,
        },
      ];
  return stats.map((s: Json) => ({
    namespace: s.Metric.Namespace,
    name: s.Metric.MetricName,
    dimensions: Object.fromEntries((s.Metric.Dimensions ?? []).map((d: Json) => [d.Name, d.Value])),
    stat: s.Stat,
  }));
};
const expression = (props: Json) => props.Metrics.find((m: Json) => m.Expression)?.Expression as string;
const routes = services.flatMap((s) => s.routes.map((r) => ({ service: s.name, route: r.functionName })));

describe('SLO alarms', () => {
  it('every business alarm goes to the stage alarm topic and reads only allow-listed dimensions', () => {
    // The SLO construct's alarms (the daily-segments usage alarm shares the namespace but is not one).
    const business = [...alarms].filter(([id]) => id.startsWith('Slo')).map(([, a]) => a);
    expect(business.length).toBe(
      2 * routes.length + 1 + Object.keys(config.settings.providerWeights).length + 2,
    );
    const allowed = new Set<string>(METRIC_DIMENSIONS);
    for (const a of business) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      for (const m of metricsOf(a.Properties)) {
        expect(m.namespace).toBe('Svc/dev');
        for (const key of Object.keys(m.dimensions)) expect(allowed.has(key), key).toBe(true);
      }
    }
  });

  it('alarms per route on the 5xx rate (metric math with a minimum volume) and on p99 latency', () => {
    for (const { service, route } of routes) {
      const rate = alarm(new RegExp(`${route}ErrorRateAlarm`));
      expect(rate).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: SLO.api5xxRate.max,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
      const read = metricsOf(rate);
      expect(read.map((m) => m.dimensions.outcome).sort()).toEqual([
        'client_error',
        'server_error',
        'success',
      ]);
      for (const m of read)
        expect(m).toMatchObject({ name: 'ApiRequests', stat: 'Sum', dimensions: { service, route } });
      expect(expression(rate)).toMatch(new RegExp(`>= ${SLO.api5xxRate.minVolume}`));
      const latency = alarm(new RegExp(`${route}LatencyAlarm`));
      expect(latency).toMatchObject({
        MetricName: 'ApiLatency',
        ExtendedStatistic: 'p99',
        Threshold: SLO.apiP99Ms,
      });
      expect(metricsOf(latency)[0]?.dimensions).toEqual({ service, route });
    }
  });

  it('alarms on the SMS delivered share (all providers, sends given up counted) and p95 to delivered per provider', () => {
    const success = alarm(/SmsDeliverySuccessAlarm/);
    expect(success).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: SLO.smsDeliverySuccess.min,
    });
    const read = metricsOf(success);
    for (const provider of Object.keys(config.settings.providerWeights))
      for (const outcome of ['delivered', 'failed', 'invalid'])
        expect(read).toContainEqual(
          expect.objectContaining({
            name: 'SmsDelivery',
            dimensions: { service: 'dispatch', provider, outcome },
          }),
        );
    expect(read).toContainEqual(
      expect.objectContaining({
        name: 'SmsSendJobs',
        dimensions: { service: 'dispatch', outcome: 'failed' },
      }),
    );
    expect(expression(success)).toMatch(/IF\(.*>= 20/);
    for (const provider of Object.keys(config.settings.providerWeights)) {
      const p95 = alarm(new RegExp(`SmsTimeToDelivered${provider}Alarm`));
      expect(p95).toMatchObject({
        MetricName: 'SmsTimeToDelivered',
        ExtendedStatistic: 'p95',
        Threshold: SLO.smsTimeToDeliveredP95Ms,
      });
    }
  });

  it('alarms when the report run lags more than one interval, and when it does not run at all', () => {
    const lag = alarm(/ReportRunLagAlarm/);
    expect(lag).toMatchObject({
      MetricName: 'ReportRunLag',
      Statistic: 'Maximum',
      Threshold: config.settings.reportIntervalMinutes * 60,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      Period: 2 * config.settings.reportIntervalMinutes * 60,
    });
  });

  it('alarms on any final assistance delivery failure, on every channel', () => {
    const failures = alarm(/AssistanceDeliveryFailuresAlarm/);
    expect(metricsOf(failures).map((m) => m.dimensions)).toEqual([
      { service: 'assistance', channel: 'slack', outcome: 'failed' },
      { service: 'assistance', channel: 'email', outcome: 'failed' },
    ]);
    expect(failures).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });
});

describe('dashboard business rows', () => {
  const [, dashboard] = resourcesOfType(dev.template, 'AWS::CloudWatch::Dashboard')[0] as [string, Json];
  const text = (dashboard.Properties.DashboardBody['Fn::Join'][1] as Json[])
    .map((p) => (typeof p === 'string' ? p : 'ref'))
    .join('');
  const widgets: Json[] = JSON.parse(text).widgets;
  const titles = widgets.map((w) => w.properties?.title).filter(Boolean) as string[];

  it('has a row of per-route 5xx rate and p99 for every service with routes, and each service’s own metrics', () => {
    for (const service of services.filter((s) => s.routes.length > 0))
      expect(titles).toEqual(
        expect.arrayContaining([
          `${service.name}: 5xx rate per route`,
          `${service.name}: p99 latency per route (ms)`,
        ]),
      );
    expect(titles).toEqual(
      expect.arrayContaining([
        'visits: requested / completed / cancelled',
        'tasks: webhook events by type and outcome',
        'tasks: report run lag (s)',
        'assistance: deliveries per channel and outcome',
        'dispatch: delivery reports per provider',
        'dispatch: accepted → delivered p95 (ms)',
      ]),
    );
    const dispatch = widgets.find((w) => w.properties?.title === 'dispatch: delivery reports per provider');
    const names = (dispatch.properties.metrics as Json[][]).map((row) => row.slice(0, 2).join(' '));
    expect(names).toContain('Svc/dev SmsDelivery');
  });
});

describe('runbook and query', () => {
  it('the README has a runbook line for every kind of SLO alarm, and references the Logs Insights query', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const kinds = new Set(
      [...alarms.keys()]
        .filter((id) => id.startsWith('Slo'))
        .map((id) => /^Slo(.*?Alarm)/.exec(id)?.[1] ?? id)
        .map((name) =>
          routes.some((r) => name.startsWith(r.route))
            ? `<Route>${name.slice(routes.find((r) => name.startsWith(r.route))?.route.length)}`
            : name.replace(/^SmsTimeToDelivered.*Alarm$/, 'SmsTimeToDelivered<provider>Alarm'),
        ),
    );
    expect(kinds.size).toBe(6);
    for (const kind of kinds) expect(readme, kind).toContain(`| \`${kind}\``);
    expect(readme).toContain('infra/queries/cold-warm-duration.logsinsights');
    const query = await readFile(
      new URL('../../infra/queries/cold-warm-duration.logsinsights', import.meta.url),
      'utf8',
    );
    expect(query).toMatch(/filter type = "platform\.report"/);
    for (const p of [50, 90, 99]) expect(query).toContain(`pct(duration, ${p})`);
    expect(query).toMatch(/by fn, cold/);
  });
});
