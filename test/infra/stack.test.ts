import { VISIBILITY_TIMEOUT_FACTOR } from '@svc/infra/service-api';
import { stageConfig } from '@svc/infra/stage-config';
import { statsService } from '@svc/stats/routes';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { fixtureService } from './fixtures/service.js';
import { declaredFunctions, type Json, resourcesOfType, serviceFunctions, synthStage } from './synth.js';

const services = [statsService, fixtureService];
const dev = synthStage('dev', { services });
const prod = synthStage('prod', { services, overrides: { alarmEmail: 'ops@example.com' } });

const resources = (t: typeof dev.template) => t.toJSON().Resources as Record<string, Record<string, Json>>;
const getAtt = (logicalId: string, attr: string) => ({ 'Fn::GetAtt': [logicalId, attr] });

/** The logical id of the one resource of `type` whose properties contain `props`. */
function logicalIdOf(template: typeof dev.template, type: string, props: Record<string, unknown>): string {
  const found = template.findResources(type, { Properties: Match.objectLike(props) });
  const ids = Object.keys(found);
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0] as string;
}

describe('stack', () => {
  it('is named Svc-<stage> for presets and for any other stage name', () => {
    expect(dev.stack.stackName).toBe('Svc-dev');
    expect(prod.stack.stackName).toBe('Svc-prod');
    const feature = synthStage('feature-42', { services: [statsService] });
    expect(feature.stack.stackName).toBe('Svc-feature-42');
    expect(feature.stage).toMatchObject({ name: 'feature-42', removal: 'destroy' });
  });

  it('rejects a stage name AWS resource names cannot carry', () => {
    expect(() => synthStage('Bad_Stage', { services: [statsService] })).toThrow(/stage names/);
  });

  it('tags every taggable resource with its stage and service', () => {
    const table = Object.values(dev.template.findResources('AWS::DynamoDB::Table'))[0];
    expect(table?.Properties.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'stage', Value: 'dev' },
        { Key: 'service', Value: 'platform' },
      ]),
    );
    for (const service of services) {
      for (const { functionName } of declaredFunctions(service)) {
        expect(resources(dev.template)[functionName]?.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'stage', Value: 'dev' },
            { Key: 'service', Value: service.name },
          ]),
        );
      }
    }
  });
});

describe('functions and routes come from the route tables', () => {
  it('creates exactly one function per declared route, consumer and job, with the functionName as logical id', () => {
    const declared = services.flatMap(declaredFunctions).map((f) => f.functionName);
    const deployed = serviceFunctions(dev.template).map(([id]) => id);
    expect(deployed.sort()).toEqual([...declared].sort());
  });

  it('routes every METHOD path of the table to its own function through a Lambda proxy integration', () => {
    const routes = services.flatMap((s) => s.routes);
    expect(resourcesOfType(dev.template, 'AWS::ApiGatewayV2::Route')).toHaveLength(routes.length);
    for (const route of routes) {
      const integration = logicalIdOf(dev.template, 'AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: getAtt(route.functionName, 'Arn'),
        PayloadFormatVersion: '2.0',
      });
      dev.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] },
      });
    }
  });

  it('runs every function on nodejs24.x arm64 with tracing, JSON logs in its own log group, no source-map flag', () => {
    for (const [id, fn] of serviceFunctions(dev.template)) {
      const p = fn.Properties as Record<string, Json>;
      expect(p.Runtime, id).toBe('nodejs24.x');
      expect(p.Architectures, id).toEqual(['arm64']);
      expect(p.Handler, id).toBe('index.handler');
      expect(p.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(p.LoggingConfig.LogFormat, id).toBe('JSON');
      expect(p.LoggingConfig.LogGroup, id).toEqual({
        Ref: expect.stringMatching(new RegExp(`^.*${id}Logs`)),
      });
      // Traces stay readable through the bundle itself (names kept); source maps cost cold start (README).
      expect(p.Environment.Variables.NODE_OPTIONS, id).toBeUndefined();
      expect(p.MemorySize, id).toBe(stageConfig('dev').functions.memoryMb);
    }
  });

  it('keeps each log group for the stage retention', () => {
    for (const [, group] of resourcesOfType(dev.template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(stageConfig('dev').logRetentionDays);
    }
    for (const [, group] of resourcesOfType(prod.template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(stageConfig('prod').logRetentionDays);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  it('sets the environment contract: base, stage settings, table, and JWT settings only on jwt routes', () => {
    const config = stageConfig('dev');
    const env = (id: string) => resources(dev.template)[id]?.Properties.Environment.Variables;
    expect(env('StatsRecordSession')).toMatchObject({
      STAGE: 'dev',
      POWERTOOLS_SERVICE_NAME: 'stats',
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      STARTING_MINUTES: '120',
      REPORT_INTERVAL_MINUTES: '60',
      PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
      PROVIDER_TIMEOUT_MS: String(config.settings.providerTimeoutMs),
      EMAIL_FROM: config.settings.emailFrom,
      SQS_MAX_RECEIVE_COUNT: String(config.queues.maxReceiveCount),
      CALLBACK_BASE_URL: { 'Fn::GetAtt': [expect.stringMatching(/HttpApi/), 'ApiEndpoint'] },
      TABLE_NAME: { Ref: expect.stringMatching(/PlatformTable/) },
    });
    expect(env('StatsRecordSession')).not.toHaveProperty('JWT_ISSUER');
    expect(env('FixtureCreateItem')).toMatchObject({
      JWT_ISSUER: config.auth.issuer,
      JWT_AUDIENCE: config.auth.audience,
      JWT_JWKS_URL: config.auth.jwksUrl,
    });
    expect(env('FixtureWebhook')).not.toHaveProperty('JWT_ISSUER');
  });
});

describe('table', () => {
  const table = (t: typeof dev.template) => Object.values(t.findResources('AWS::DynamoDB::Table'))[0] as Json;

  it('matches the shared TABLE definition: keys, TTL, three GSIs with ALL projection, on-demand, KMS', () => {
    const p = table(dev.template).Properties;
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    // SSEEnabled without a key: the AWS managed aws/dynamodb KMS key (not the AWS owned default).
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.GlobalSecondaryIndexes).toEqual(
      [1, 2, 3].map((n) => ({
        IndexName: `gsi${n}`,
        KeySchema: [
          { AttributeName: `gsi${n}pk`, KeyType: 'HASH' },
          { AttributeName: `gsi${n}sk`, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
  });

  it('is protected in prod: PITR, deletion protection, retained', () => {
    const t = table(prod.template);
    expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(t.Properties.DeletionProtectionEnabled).toBe(true);
    expect(t.DeletionPolicy).toBe('Retain');
    expect(t.UpdateReplacePolicy).toBe('Retain');
  });

  it('is disposable in dev', () => {
    const t = table(dev.template);
    expect(t.DeletionPolicy).toBe('Delete');
    expect(t.Properties.DeletionProtectionEnabled).toBe(false);
    expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
  });
});

describe('HTTP API', () => {
  it('has no implicit stage, and an explicit auto-deployed $default stage with JSON access logs and throttling', () => {
    dev.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [, stage] = resourcesOfType(prod.template, 'AWS::ApiGatewayV2::Stage')[0] as [string, Json];
    const config = stageConfig('prod');
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.AutoDeploy).toBe(true);
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: config.api.throttlingRateLimit,
      ThrottlingBurstLimit: config.api.throttlingBurstLimit,
    });
    const logs = stage.Properties.AccessLogSettings;
    expect(logs.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/ApiAccessLogs/), 'Arn'] });
    expect(JSON.parse(logs.Format)).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
    });
  });
});

describe('queues', () => {
  const queueId = (t: typeof dev.template, name: string) =>
    logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: `svc-dev-${name}` });

  it('names queues svc-<stage>-<name>, encrypts them and denies non-TLS access', () => {
    for (const name of ['fixture-work', 'fixture-work-dlq', 'fixture-plan-schedule-dlq']) {
      const id = queueId(dev.template, name);
      expect(resources(dev.template)[id]?.Properties.SqsManagedSseEnabled, name).toBe(true);
      dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('gives the consumer queue a visibility timeout of at least 6 x the consumer timeout', () => {
    const consumer = fixtureService.consumers?.[0];
    const timeout = resources(dev.template)[consumer?.functionName ?? '']?.Properties.Timeout as number;
    expect(timeout).toBe(30);
    const queue = resources(dev.template)[queueId(dev.template, 'fixture-work')];
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * timeout);
  });

  it('moves a message to its DLQ after maxReceiveCount, and the DLQ redrives only back to its source', () => {
    const source = queueId(dev.template, 'fixture-work');
    const dlq = queueId(dev.template, 'fixture-work-dlq');
    expect(resources(dev.template)[source]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(dlq, 'Arn'),
      maxReceiveCount: stageConfig('dev').queues.maxReceiveCount,
    });
    const dlqProps = resources(dev.template)[dlq]?.Properties;
    expect(dlqProps?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(dlqProps?.RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':sqs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':svc-dev-fixture-work',
            ],
          ],
        },
      ],
    });
  });

  it('feeds the consumer with partial batch failures and the declared batch size', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: 'FixtureWorker' },
      EventSourceArn: getAtt(queueId(dev.template, 'fixture-work'), 'Arn'),
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(
      resources(dev.template).FixtureWorker?.Properties.Environment.Variables.SQS_MAX_RECEIVE_COUNT,
    ).toBe('5');
  });

  it('tells a consumer its own queue and the stage backoff, so it can postpone a failed record', () => {
    const variables = resources(dev.template).FixtureWorker?.Properties.Environment.Variables;
    expect(variables.SQS_QUEUE_URL).toEqual({ Ref: queueId(dev.template, 'fixture-work') });
    expect(variables.SQS_RETRY_BACKOFF_SECONDS).toBe(String(stageConfig('dev').queues.retryBackoffSeconds));
  });

  it('refuses a consumer of a queue its service does not declare', () => {
    const broken = { ...fixtureService, queues: [] };
    expect(() => synthStage('dev', { services: [broken] })).toThrow(/fixture-work/);
  });

  it('refuses two functions with the same functionName', () => {
    const twin = { ...statsService, name: 'twin' };
    expect(() => synthStage('dev', { services: [statsService, twin] })).toThrow(/StatsRecordSession/);
  });
});

describe('scheduled jobs', () => {
  it('runs the job at the stage interval with retries and a DLQ, which also catches async failures', () => {
    const dlq = logicalIdOf(dev.template, 'AWS::SQS::Queue', {
      QueueName: 'svc-dev-fixture-plan-schedule-dlq',
    });
    dev.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'svc-dev-fixture-plan',
      ScheduleExpression: 'rate(60 minutes)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: getAtt('FixturePlanner', 'Arn'),
        RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: getAtt(dlq, 'Arn') },
      }),
    });
    expect(resources(dev.template).FixturePlanner?.Properties.DeadLetterConfig).toEqual({
      TargetArn: getAtt(dlq, 'Arn'),
    });
  });

  it('uses the local preset interval of one minute', () => {
    const local = synthStage('local', { services: [fixtureService] });
    local.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
    });
  });
});

describe('alarms', () => {
  const topic = (t: typeof dev.template) => Object.keys(t.findResources('AWS::SNS::Topic'))[0];

  it('alarms on every DLQ as soon as one message is visible', () => {
    const dlqs = resourcesOfType(dev.template, 'AWS::SQS::Queue').filter(([, q]) =>
      String(q.Properties?.QueueName).endsWith('-dlq'),
    );
    expect(dlqs.length).toBe(2);
    for (const [id] of dlqs) {
      dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(id, 'QueueName') }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: topic(dev.template) }],
      });
    }
  });

  it('alarms on errors and throttles of every function', () => {
    for (const { functionName } of services.flatMap(declaredFunctions)) {
      for (const metric of ['Errors', 'Throttles']) {
        dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionName } }],
          AlarmActions: [{ Ref: topic(dev.template) }],
        });
      }
    }
  });

  it('alarms on any 5xx of the HTTP API (handler-caught faults are responses, not Lambda errors)', () => {
    const [apiId] = Object.keys(dev.template.findResources('AWS::ApiGatewayV2::Api'));
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topic(dev.template) }],
    });
  });

  it('emails the alarm address when the stage has one, keeping undeliverable notifications', () => {
    prod.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    dev.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('reports bucket', () => {
  it('exists only when a function asks for it, private, SSL-only and encrypted', () => {
    synthStage('dev', { services: [statsService] }).template.resourceCountIs('AWS::S3::Bucket', 0);
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(Object.values(prod.template.findResources('AWS::S3::Bucket'))[0]?.DeletionPolicy).toBe('Retain');
  });
});
