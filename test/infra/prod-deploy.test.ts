// The prod template as `cdk deploy -c stage=prod` would create it, checked for what only a real deploy would
// reveal (issue 13): each block fails on the problem it names when the fix is taken out.
import { createApp } from '@svc/infra/create-app';
import { MAX_API_FUNCTION_TIMEOUT_SECONDS, maxConcurrencyOf } from '@svc/infra/service-api';
import { services } from '@svc/infra/services';
import { physicalQueueName, presets, stageConfig } from '@svc/infra/stage-config';
import { describe, expect, it } from 'vitest';
import {
  declaredFunctions,
  type Json,
  NO_BUNDLING,
  type Resource,
  resourcesOfType,
  serviceFunctions,
  synthStage,
} from './synth.js';

const ALARM_EMAIL = 'oncall@example.com';
const prod = synthStage('prod', { services, overrides: { alarmEmail: ALARM_EMAIL } });
const dev = synthStage('dev', { services });
const json = prod.template.toJSON() as { Resources: Record<string, Resource>; Outputs: Record<string, Json> };
const R = json.Resources;
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const logicalIdOfRef = (value: Json): string | undefined => value?.Ref ?? value?.['Fn::GetAtt']?.[0];

/** Identity statements of the role `roleRef` points at (its attached AWS::IAM::Policy documents). */
function roleStatements(roleRef: Json): Json[] {
  const role = logicalIdOfRef(roleRef);
  return resourcesOfType(prod.template, 'AWS::IAM::Policy')
    .filter(([, p]) => list(p.Properties.Roles).some((r: Json) => r.Ref === role))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
}
const grantsSend = (statements: Json[], queueArn: Json) =>
  statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).includes('sqs:SendMessage') &&
      list(s.Resource).some((r) => same(r, queueArn)),
  );

describe('1. alarm topic and DLQ resource policies let their writers in', () => {
  const [topicId] = resourcesOfType(prod.template, 'AWS::SNS::Topic')[0] ?? [];
  const topicPolicy = resourcesOfType(prod.template, 'AWS::SNS::TopicPolicy').find(([, p]) =>
    list(p.Properties.Topics).some((t: Json) => t.Ref === topicId),
  )?.[1];

  it('every alarm notifies the one topic', () => {
    const alarms = resourcesOfType(prod.template, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(10);
    for (const [id, alarm] of alarms) expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
  });

  it('the topic policy (which replaces the default one) allows CloudWatch alarms of this account to publish', () => {
    const statements = topicPolicy?.Properties.PolicyDocument.Statement as Json[];
    // enforceSSL's Deny is still there…
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // …beside an Allow for CloudWatch, scoped to this account's alarms.
    const allow = statements.find(
      (s) => s.Effect === 'Allow' && s.Principal?.Service === 'cloudwatch.amazonaws.com',
    );
    expect(allow).toBeDefined();
    expect(list(allow.Action)).toEqual(['sns:Publish']);
    expect(allow.Resource).toEqual({ Ref: topicId });
    expect(allow.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(allow.Condition.ArnLike['aws:SourceArn'])).toContain(':alarm:*');
  });

  it('is not encrypted (an AWS-managed SNS key would refuse CloudWatch)', () => {
    expect(R[topicId as string]?.Properties?.KmsMasterKeyId).toBeUndefined();
  });

  it('the alarm-delivery DLQ lets SNS send, from this topic only', () => {
    const subscription = resourcesOfType(prod.template, 'AWS::SNS::Subscription')[0]?.[1];
    const dlqArn = subscription?.Properties.RedrivePolicy.deadLetterTargetArn;
    const dlqId = logicalIdOfRef(dlqArn);
    const policy = resourcesOfType(prod.template, 'AWS::SQS::QueuePolicy').find(([, p]) =>
      list(p.Properties.Queues).some((q: Json) => q.Ref === dlqId),
    )?.[1];
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicId } } },
      }),
    );
  });

  it('scheduler and Lambda-async DLQs are written through identity policies that grant SendMessage', () => {
    const schedules = resourcesOfType(prod.template, 'AWS::Scheduler::Schedule');
    expect(schedules.length).toBeGreaterThan(0);
    for (const [id, schedule] of schedules) {
      const target = schedule.Properties.Target;
      expect(grantsSend(roleStatements(target.RoleArn), target.DeadLetterConfig.Arn), id).toBe(true);
    }
    for (const [id, fn] of serviceFunctions(prod.template)) {
      const dlq = fn.Properties.DeadLetterConfig?.TargetArn;
      if (dlq) expect(grantsSend(roleStatements(fn.Properties.Role), dlq), id).toBe(true);
    }
  });

  it('no other resource policy is written for a service principal that it only denies', () => {
    // Every queue policy that is Deny-only must belong to a queue no AWS service writes to by resource policy.
    const snsDlqs = resourcesOfType(prod.template, 'AWS::SNS::Subscription').map(([, s]) =>
      logicalIdOfRef(s.Properties.RedrivePolicy?.deadLetterTargetArn),
    );
    for (const [id, policy] of resourcesOfType(prod.template, 'AWS::SQS::QueuePolicy')) {
      const allows = (policy.Properties.PolicyDocument.Statement as Json[]).filter(
        (s) => s.Effect === 'Allow',
      );
      const queues = list(policy.Properties.Queues).map((q: Json) => q.Ref);
      if (allows.length === 0)
        expect(
          queues.filter((q) => snsDlqs.includes(q)),
          id,
        ).toEqual([]);
    }
  });
});

describe('2. the alarm email survives a rollback', () => {
  it('a retaining stage without an alarm email does not synthesize', () => {
    expect(() => synthStage('prod', { services })).toThrow(/alarmEmail/);
  });

  it('the address is subscribed when the stage has one', () => {
    prod.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: ALARM_EMAIL,
    });
  });
});

describe('3. queue consumers are capped', () => {
  const mappings = resourcesOfType(prod.template, 'AWS::Lambda::EventSourceMapping');
  const queueNameOf = (arn: Json) => R[logicalIdOfRef(arn) as string]?.Properties?.QueueName as string;

  it('every SQS event source has the maximum concurrency of its queue from the stage config', () => {
    const consumers = services.flatMap((s) => s.consumers ?? []);
    expect(mappings).toHaveLength(consumers.length);
    for (const consumer of consumers) {
      const mapping = mappings.find(
        ([, m]) => queueNameOf(m.Properties.EventSourceArn) === physicalQueueName('prod', consumer.queue),
      )?.[1];
      expect(mapping?.Properties.ScalingConfig, consumer.functionName).toEqual({
        MaximumConcurrency: maxConcurrencyOf(prod.stage, consumer.queue),
      });
    }
  });

  it('the Slack consumer runs at the fewest pollers AWS allows (Slack takes ~1 message/s per webhook)', () => {
    expect(maxConcurrencyOf(prod.stage, 'assistance-slack')).toBe(2);
  });

  it('per-queue settings name queues that exist, in every preset', () => {
    const queues = new Set(services.flatMap((s) => s.queues ?? []));
    for (const preset of Object.values(presets))
      for (const name of Object.keys(preset.queues.maxConcurrencyByQueue ?? {}))
        expect(queues.has(name), `${preset.name}: ${name}`).toBe(true);
  });

  it('reserves no concurrency (README Decisions: small accounts cannot spare it)', () => {
    for (const [id, fn] of serviceFunctions(prod.template))
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
  });
});

describe('4. destroy and retain', () => {
  it('a non-retaining stage empties the reports bucket before deleting it', () => {
    const bucket = resourcesOfType(dev.template, 'AWS::S3::Bucket')[0];
    expect(bucket?.[1].DeletionPolicy).toBe('Delete');
    dev.template.hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: { Ref: bucket?.[0] } });
  });

  it('prod keeps the table, the bucket, the log groups and never empties anything', () => {
    expect(resourcesOfType(prod.template, 'Custom::S3AutoDeleteObjects')).toEqual([]);
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup'])
      for (const [id, r] of resourcesOfType(prod.template, type)) expect(r.DeletionPolicy, id).toBe('Retain');
  });
});

describe('5. stack outputs', () => {
  it('print the API URL and the API document URL', () => {
    const apiId = resourcesOfType(prod.template, 'AWS::ApiGatewayV2::Api')[0]?.[0];
    expect(json.Outputs.ApiUrl.Value).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    expect(json.Outputs.ApiDocumentUrl.Value).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/openapi.json']],
    });
  });

  it('name every dead-letter queue', () => {
    const dlqs = resourcesOfType(prod.template, 'AWS::SQS::Queue').filter(
      ([, q]) => !q.Properties?.RedrivePolicy,
    );
    const named = Object.entries(json.Outputs)
      .filter(([key]) => key.startsWith('DlqName'))
      .map(([, o]) => logicalIdOfRef(o.Value));
    expect(named.sort()).toEqual(dlqs.map(([id]) => id).sort());
  });
});

describe('6. SAM can be given every environment value', () => {
  it('every value CloudFormation resolves (Ref, GetAtt, Join) is a stack output with the same expression', () => {
    const outputs = Object.values(json.Outputs).map((o) => JSON.stringify(o.Value));
    const missing: string[] = [];
    for (const [id, fn] of serviceFunctions(prod.template)) {
      for (const [name, value] of Object.entries(fn.Properties.Environment?.Variables ?? {}))
        if (typeof value !== 'string' && !outputs.includes(JSON.stringify(value)))
          missing.push(`${id} ${name}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('7. unknown routes reach our own function', () => {
  it('routes $default to the registry’s default-route function', () => {
    const owner = services.find((s) => s.defaultRoute);
    const functionName = owner?.defaultRoute?.functionName as string;
    const [, route] = resourcesOfType(prod.template, 'AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === '$default',
    ) ?? [undefined, undefined];
    const integrationId = route?.Properties.Target['Fn::Join'][1][1].Ref;
    expect(R[integrationId]?.Properties?.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionName, 'Arn'] });
  });
});

describe('8. smaller ones', () => {
  it('every function behind the HTTP API stops before the API gives up (30 s)', () => {
    const integrated = resourcesOfType(prod.template, 'AWS::ApiGatewayV2::Integration').map(([, i]) =>
      logicalIdOfRef(i.Properties.IntegrationUri),
    );
    const routeCount = services.reduce((n, s) => n + s.routes.length + (s.defaultRoute ? 1 : 0), 0);
    expect(integrated).toHaveLength(routeCount);
    for (const id of integrated) {
      const timeout = R[id as string]?.Properties?.Timeout;
      expect(timeout, id).toBeLessThanOrEqual(MAX_API_FUNCTION_TIMEOUT_SECONDS);
      expect(timeout, id).toBeLessThan(30);
    }
  });

  it('refuses a route function whose timeout reaches the API’s', () => {
    const [first, ...rest] = services;
    const slow = {
      ...first!,
      routes: first!.routes.map((r, i) => (i === 0 ? { ...r, timeoutSeconds: 30 } : r)),
    };
    expect(() =>
      synthStage('prod', { services: [slow, ...rest], overrides: { alarmEmail: ALARM_EMAIL } }),
    ).toThrow(/must stop within 29 s/);
  });

  it('DLQs fed by Scheduler, Lambda async or SNS say what to do instead of a redrive', () => {
    const sqsFed = new Set(
      resourcesOfType(prod.template, 'AWS::SQS::Queue').flatMap(([, q]) =>
        q.Properties?.RedrivePolicy ? [logicalIdOfRef(q.Properties.RedrivePolicy.deadLetterTargetArn)] : [],
      ),
    );
    let notRedrivable = 0;
    for (const [id, alarm] of resourcesOfType(prod.template, 'AWS::CloudWatch::Alarm')) {
      const queue = alarm.Properties.Dimensions?.find((d: Json) => d.Name === 'QueueName')?.Value;
      if (!queue) continue;
      const text = alarm.Properties.AlarmDescription as string;
      if (sqsFed.has(logicalIdOfRef(queue))) expect(text, id).toMatch(/redrive/);
      else {
        notRedrivable++;
        expect(text, id).toMatch(/cannot (move|be redriven)/);
        expect(text, id).not.toMatch(/then redrive/);
      }
    }
    expect(notRedrivable).toBe(resourcesOfType(prod.template, 'AWS::Scheduler::Schedule').length + 1);
  });

  it('refuses to synthesize (so to deploy) the local preset, whose issuer is 127.0.0.1', () => {
    expect(() => createApp({ services, context: { stage: 'local', ...NO_BUNDLING }, nag: false })).toThrow(
      /127\.0\.0\.1.*pnpm dev/,
    );
    // The same for any stage pointed at this machine.
    expect(() =>
      createApp({
        services,
        context: { stage: 'feature-1', ...NO_BUNDLING },
        overrides: { auth: { issuer: 'http://localhost:3000/' } },
        nag: false,
      }),
    ).toThrow(/localhost/);
  });

  it('even synthesized on purpose, the local preset carries a parameter no value satisfies', () => {
    const local = synthStage('local', { services });
    const parameter = local.template.toJSON().Parameters.LocalStageIsNotDeployable;
    expect(parameter).toMatchObject({ Type: 'String', MinLength: 1, AllowedPattern: '^$' });
    expect(parameter.Default).toBeUndefined();
    expect(prod.template.toJSON().Parameters?.LocalStageIsNotDeployable).toBeUndefined();
  });
});

describe('9. readable stack traces without the cold-start cost of source maps', () => {
  it('no function loads source maps at start (README Decisions: names and lines are kept in the bundle)', () => {
    for (const [id, fn] of serviceFunctions(prod.template))
      expect(fn.Properties.Environment?.Variables?.NODE_OPTIONS ?? '', id).not.toMatch(/enable-source-maps/);
  });
});

describe('presets', () => {
  it('the prod preset still parses on its own (the email check is the synth’s)', () => {
    expect(stageConfig('prod').removal).toBe('retain');
  });

  it('every function is declared once in the registry', () => {
    const names = services.flatMap(declaredFunctions).map((f) => f.functionName);
    expect(new Set(names).size).toBe(names.length);
  });
});
