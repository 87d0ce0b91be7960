import { statsService } from '@svc/stats/routes';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { fixtureService } from './fixtures/service.js';
import { isCdkProvider, type Json, resourcesOfType, synthStage, unscopedGrants } from './synth.js';

const { template } = synthStage('dev', { services: [statsService, fixtureService] });
const all = template.toJSON().Resources as Record<string, Json>;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** Statements of every policy attached to the execution role of `functionName`. */
function statementsOf(functionName: string): Statement[] {
  const roleId = all[functionName].Properties.Role['Fn::GetAtt'][0] as string;
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, p]) =>
      (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
    )
    .flatMap(([, p]) => (p.Properties as Json).PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => list(s.Action)).sort();
const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => list(s.Action).includes(action));

describe('least privilege', () => {
  it('has no statement with Action * (or service:*) anywhere, and wildcard resources only where AWS requires', () => {
    expect(resourcesOfType(template, 'AWS::IAM::Policy').length).toBeGreaterThan(0);
    expect(unscopedGrants(template)).toEqual([]);
  });

  it('names grants of * actions, Resource * beyond X-Ray, and wildcard ARNs (so the check above can fail)', () => {
    const stack = new Stack();
    const role = new iam.Role(stack, 'Loose', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::b'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:*:*:*'] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: ['arn:aws:kms:r:1:key/*'] }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
    const problems = unscopedGrants(Template.fromStack(stack));
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'wildcard action',
      'Resource *',
      'wildcard resource',
      'wildcard resource',
    ]);
  });

  it('attaches no managed policies to execution roles (logs go to the function’s own group only)', () => {
    // CDK's own auto-delete provider (destroy stages only) keeps its basic execution role.
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role').filter(
      ([id]) => !isCdkProvider(id),
    )) {
      expect((role.Properties as Json).ManagedPolicyArns, id).toBeUndefined();
    }
    const logs = withAction(statementsOf('StatsGetCourse'), 'logs:PutLogEvents');
    expect(logs).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StatsStatsGetCourseLogs/), 'Arn'] },
      }),
    ]);
  });

  it('gives read routes read-only table access and write routes read/write', () => {
    expect(actionsOf(statementsOf('StatsGetCourse'))).not.toContain('dynamodb:PutItem');
    expect(actionsOf(statementsOf('StatsGetCourse'))).toContain('dynamodb:GetItem');
    expect(actionsOf(statementsOf('StatsRecordSession'))).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem']),
    );
  });

  it('lets a sender only SendMessage, only to the queue it names, and tells it the URL', () => {
    const sends = withAction(statementsOf('FixtureCreateItem'), 'sqs:SendMessage');
    expect(sends).toHaveLength(1);
    expect(sends[0]?.Action).toBe('sqs:SendMessage');
    const queueId = ((sends[0] as Statement).Resource as Json)['Fn::GetAtt'][0];
    expect(all[queueId].Properties.QueueName).toBe('svc-dev-fixture-work');
    expect(all.FixtureCreateItem.Properties.Environment.Variables.QUEUE_URL_FIXTURE_WORK).toEqual({
      Ref: queueId,
    });
    expect(withAction(statementsOf('FixtureGetItem'), 'sqs:SendMessage')).toHaveLength(0);
  });

  it('lets a function read exactly the SSM parameters it names, decrypting only through SSM', () => {
    expect(all.FixtureWebhook.Properties.Environment.Variables.PARAM_FIXTURE_WEBHOOK_SECRET).toBe(
      '/svc/dev/fixture-webhook-secret',
    );
    const statements = statementsOf('FixtureWebhook');
    const [get] = withAction(statements, 'ssm:GetParameter');
    const parameterArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ssm:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':parameter/svc/dev/fixture-webhook-secret',
        ],
      ],
    };
    expect(get).toMatchObject({ Action: 'ssm:GetParameter', Resource: parameterArn });
    const [decrypt] = withAction(statements, 'kms:Decrypt');
    expect(decrypt?.Condition?.StringEquals).toEqual({
      'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      'kms:EncryptionContext:PARAMETER_ARN': [parameterArn],
    });
    expect(withAction(statementsOf('FixtureGetItem'), 'ssm:GetParameter')).toHaveLength(0);
  });

  it('scopes SES sending to the stage sender identity', () => {
    const [send] = withAction(statementsOf('FixtureWorker'), 'ses:SendEmail');
    expect(list(send?.Action)).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect(JSON.stringify(send?.Resource)).toContain(':identity/no-reply@dev.example.com');
    expect(send?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@dev.example.com' } });
    expect(withAction(statementsOf('FixtureCreateItem'), 'ses:SendEmail')).toHaveLength(0);
  });

  it('lets bucket readers get and writers put report objects, nothing else', () => {
    expect(all.FixtureGetReport.Properties.Environment.Variables.REPORTS_BUCKET).toEqual({
      Ref: expect.stringMatching(/ReportsBucket/),
    });
    const s3Actions = (fn: string) => actionsOf(statementsOf(fn)).filter((a) => a.startsWith('s3:'));
    expect(s3Actions('FixtureGetReport')).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(s3Actions('FixtureWorker')).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(s3Actions('StatsGetCourse')).toEqual([]);
  });

  it('lets the scheduler role invoke only its own function, assumed only from this account', () => {
    const role = resourcesOfType(template, 'AWS::IAM::Role').find(([id]) =>
      id.includes('FixturePlanSchedulerRole'),
    );
    expect(role).toBeDefined();
    const [roleId, roleResource] = role as [string, Json];
    expect(roleResource.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { Service: 'scheduler.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    const statements = resourcesOfType(template, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(([, p]) => (p.Properties as Json).PolicyDocument.Statement as Statement[]);
    const invoke = withAction(statements, 'lambda:InvokeFunction');
    expect(JSON.stringify(invoke)).toContain('"FixturePlanner","Arn"');
    expect(JSON.stringify(invoke)).not.toMatch(/FixtureWorker|FixtureCreateItem/);
  });
});
