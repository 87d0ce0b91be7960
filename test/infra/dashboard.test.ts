import { dashboardName } from '@svc/infra/dashboard';
import { services } from '@svc/infra/services';
import { describe, expect, it } from 'vitest';
import { fixtureService } from './fixtures/service.js';
import { declaredFunctions, type Json, resourcesOfType, serviceFunctions, synthStage } from './synth.js';

const all = [...services, fixtureService];

/** A dashboard metric as CloudFormation receives it: [namespace, name, ...dimension pairs, options]. */
interface RenderedMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  stat: string;
}

/**
 * The DashboardBody's Fn::Join rendered to the JSON CloudWatch gets, with each reference written as
 * `@Ref(X)` / `@GetAtt(X.Attr)` so metrics can be traced back to the template's logical ids.
 */
function renderBody(body: Json): Json {
  const parts: Json[] = body['Fn::Join'][1];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part.Ref) return `@Ref(${part.Ref})`;
      if (part['Fn::GetAtt']) return `@GetAtt(${part['Fn::GetAtt'].join('.')})`;
      throw new Error(`unexpected token ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
}

function metricsOf(widget: Json): RenderedMetric[] {
  return (widget.properties?.metrics ?? []).map((row: Json[]) => {
    const options = row.at(-1) as { stat: string };
    const [namespace, name, ...pairs] = row.slice(0, -1) as string[];
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
    return { namespace: namespace as string, name: name as string, dimensions, stat: options.stat };
  });
}

function dashboardOf(stage: string, overrides = {}) {
  const { template } = synthStage(stage, { services: all, overrides });
  const dashboards = resourcesOfType(template, 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const [, dashboard] = dashboards[0] as [string, Json];
  const body = renderBody(dashboard.Properties.DashboardBody);
  const widgets: Json[] = body.widgets;
  const metrics = widgets.flatMap(metricsOf);
  return { template, dashboard, widgets, metrics };
}

/** Every queue the template uses as a dead-letter target, whoever points at it (SQS, Lambda, Scheduler, SNS). */
function deadLetterTargets(template: ReturnType<typeof synthStage>['template']): string[] {
  const resources = template.toJSON().Resources as Record<string, Json>;
  const targets = new Set<string>();
  const arnOwner = (arn: Json) => {
    expect(arn?.['Fn::GetAtt']?.[1], JSON.stringify(arn)).toBe('Arn');
    targets.add(arn['Fn::GetAtt'][0]);
  };
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::SQS::Queue' && p.RedrivePolicy) arnOwner(p.RedrivePolicy.deadLetterTargetArn);
    if (r.Type === 'AWS::Lambda::Function' && p.DeadLetterConfig) arnOwner(p.DeadLetterConfig.TargetArn);
    if (r.Type === 'AWS::Scheduler::Schedule' && p.Target?.DeadLetterConfig)
      arnOwner(p.Target.DeadLetterConfig.Arn);
    if (r.Type === 'AWS::SNS::Subscription' && p.RedrivePolicy) arnOwner(p.RedrivePolicy.deadLetterTargetArn);
  }
  return [...targets].sort();
}

const queueMetrics = (metrics: RenderedMetric[], name: string) =>
  metrics
    .filter((m) => m.namespace === 'AWS/SQS' && m.name === name)
    .map((m) => /^@GetAtt\((\w+)\.QueueName\)$/.exec(m.dimensions.QueueName ?? '')?.[1]);

describe('stage dashboard', () => {
  const dev = dashboardOf('dev');

  it('is one dashboard named svc-<stage>, for any stage', () => {
    expect(dev.dashboard.Properties.DashboardName).toBe('svc-dev');
    expect(dashboardOf('feature-42').dashboard.Properties.DashboardName).toBe(dashboardName('feature-42'));
    expect(dashboardName('feature-42')).toBe('svc-feature-42');
  });

  it('shows API requests, p99 latency, 4xx and 5xx of the stack’s HTTP API', () => {
    const [apiId] = Object.keys(dev.template.findResources('AWS::ApiGatewayV2::Api'));
    const api = dev.metrics.filter((m) => m.namespace === 'AWS/ApiGateway');
    for (const m of api) expect(m.dimensions).toEqual({ ApiId: `@Ref(${apiId})` });
    const shown = api.map((m) => `${m.name}:${m.stat}`);
    expect(shown).toEqual(expect.arrayContaining(['Count:Sum', 'Latency:p99', '4xx:Sum', '5xx:Sum']));
  });

  it('shows errors and p99 duration of every function in the template', () => {
    const functions = serviceFunctions(dev.template)
      .map(([id]) => id)
      .sort();
    expect(functions).toEqual(
      all
        .flatMap(declaredFunctions)
        .map((f) => f.functionName)
        .sort(),
    );
    const lambda = dev.metrics.filter((m) => m.namespace === 'AWS/Lambda');
    const shownFor = (name: string, stat: string) =>
      lambda
        .filter((m) => m.name === name && m.stat === stat)
        .map((m) => /^@Ref\((\w+)\)$/.exec(m.dimensions.FunctionName ?? '')?.[1])
        .sort();
    expect(shownFor('Errors', 'Sum')).toEqual(functions);
    expect(shownFor('Duration', 'p99')).toEqual(functions);
  });

  it('shows the depth of every dead-letter queue, and depth and oldest age of every source queue', () => {
    const dlqs = deadLetterTargets(dev.template);
    // stats has none; tasks, assistance, dispatch and the fixture have queues and schedules.
    expect(dlqs.length).toBeGreaterThanOrEqual(6);
    const sources = Object.entries(dev.template.findResources('AWS::SQS::Queue'))
      .filter(([, r]) => r.Properties.RedrivePolicy)
      .map(([id]) => id)
      .sort();
    const visible = queueMetrics(dev.metrics, 'ApproximateNumberOfMessagesVisible');
    expect([...visible].sort()).toEqual([...dlqs, ...sources].sort());
    expect(queueMetrics(dev.metrics, 'ApproximateAgeOfOldestMessage').sort()).toEqual(sources);
    const dlqWidget = dev.widgets.find((w) => /dead-letter/i.test(w.properties?.title ?? ''));
    expect(queueMetrics(metricsOf(dlqWidget), 'ApproximateNumberOfMessagesVisible').sort()).toEqual(dlqs);
  });

  it('includes the alarm-delivery DLQ when the stage has an alarm email', () => {
    const prod = dashboardOf('prod', { alarmEmail: 'ops@example.com' });
    const dlqs = deadLetterTargets(prod.template);
    expect(dlqs.some((id) => id.includes('AlarmDelivery'))).toBe(true);
    const dlqWidget = prod.widgets.find((w) => /dead-letter/i.test(w.properties?.title ?? ''));
    expect(queueMetrics(metricsOf(dlqWidget), 'ApproximateNumberOfMessagesVisible').sort()).toEqual(dlqs);
  });
});
