import { tableKeyPrefixes } from '@svc/platform/routes';
import { TABLE } from '@svc/platform/table';
import { statsService } from '@svc/stats/routes';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { services } from '../../infra/lib/services.js';
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

/**
 * What IAM would decide for one DynamoDB request of a function: some Allow statement names the action, the
 * resource (the table, or one of its indexes), and every key of the request starts with an allowed prefix
 * (`ForAllValues:StringLike` on `dynamodb:LeadingKeys`; vacuously true for a request without keys, which is
 * why Scan must never be granted). There are no Deny statements in these roles.
 */
function allows(
  statements: Statement[],
  request: { action: string; index?: string; keys: string[] },
  tableRef: string,
): boolean {
  const target = request.index ? `/index/${request.index}` : '';
  return statements.some((s) => {
    if (s.Effect !== 'Allow' || !list(s.Action).includes(request.action)) return false;
    const resources = list(s.Resource as unknown).map((r) => JSON.stringify(r));
    const named = resources.some(
      (r) => r.includes(tableRef) && (target ? r.endsWith(`${target}"]]}`) : !r.includes('/index/')),
    );
    if (!named) return false;
    const patterns = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as
      | string[]
      | undefined;
    if (!patterns) return true;
    const matches = (key: string) =>
      patterns.some((p) =>
        new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(key),
      );
    return request.keys.every(matches);
  });
}

describe('least privilege on the table (every real service)', () => {
  const real = synthStage('dev', { services: [...services] });
  const resources = real.template.toJSON().Resources as Record<string, Json>;
  const tableId = Object.keys(resources).find(
    (id) => resources[id].Type === 'AWS::DynamoDB::Table',
  ) as string;
  const policyOf = (functionName: string): Statement[] => {
    const roleId = resources[functionName].Properties.Role['Fn::GetAtt'][0] as string;
    return resourcesOfType(real.template, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(([, p]) => (p.Properties as Json).PolicyDocument.Statement as Statement[]);
  };
  const entries = services.flatMap((service) =>
    [...service.routes, ...(service.consumers ?? []), ...(service.schedules ?? [])].map((entry) => ({
      service: service.name,
      entry: entry as { functionName: string; access: { table?: 'read' | 'write' }; idempotent?: boolean },
    })),
  );
  const can = (fn: string, action: string, keys: string[], index?: string) =>
    allows(policyOf(fn), { action, keys, ...(index ? { index } : {}) }, tableId);

  it('grants every function only its own key prefixes, on the table and on each index', () => {
    expect(entries.length).toBeGreaterThan(20);
    for (const { service, entry } of entries) {
      const dynamo = policyOf(entry.functionName).filter((s) =>
        list(s.Action).some((a) => a.startsWith('dynamodb:')),
      );
      if (!entry.access.table) {
        expect(dynamo, entry.functionName).toEqual([]);
        continue;
      }
      const prefixes = tableKeyPrefixes(service, entry);
      expect(prefixes[0]).toBe(`$${service}#`);
      expect(dynamo, entry.functionName).toHaveLength(2);
      for (const statement of dynamo) {
        expect(statement.Condition, entry.functionName).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) },
        });
      }
      const [onTable, onIndexes] = dynamo as [Statement, Statement];
      expect(onTable.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
      expect(onIndexes.Action).toBe('dynamodb:Query');
      expect(list(onIndexes.Resource)).toHaveLength(TABLE.globalIndexes.length);
    }
  });

  it('gives no function Scan, DescribeTable, PartiQL or streams, and read functions no writes', () => {
    const forbidden =
      /^dynamodb:(Scan|DescribeTable|PartiQL.*|ExecuteStatement|BatchExecuteStatement|GetRecords|GetShardIterator|\*)$/;
    for (const { entry } of entries) {
      const actions = actionsOf(policyOf(entry.functionName)).filter((a) => a.startsWith('dynamodb:'));
      expect(
        actions.filter((a) => forbidden.test(a)),
        entry.functionName,
      ).toEqual([]);
      if (entry.access.table === 'read') {
        expect([...new Set(actions)].sort(), entry.functionName).toEqual([
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:Query',
        ]);
      }
    }
  });

  it('keeps the public stats and webhook functions away from visits password hashes', () => {
    const account = ['$visits#userid_7f1d2c3b'];
    for (const fn of ['StatsGetCourse', 'StatsRecordSession', 'TasksWebhook', 'DispatchDeliveryStatus']) {
      expect(can(fn, 'dynamodb:GetItem', account), fn).toBe(false);
      expect(can(fn, 'dynamodb:BatchGetItem', ['$stats#userid_u#courseid_c', ...account]), fn).toBe(false);
      expect(can(fn, 'dynamodb:Scan', []), fn).toBe(false);
    }
    expect(can('StatsGetCourse', 'dynamodb:GetItem', ['$stats#userid_u#courseid_c'])).toBe(true);
    expect(can('StatsGetCourse', 'dynamodb:PutItem', ['$stats#userid_u#courseid_c'])).toBe(false);
    expect(can('VisitsStartSession', 'dynamodb:GetItem', ['$visits#emailkey_ann@example.com'])).toBe(true);
  });

  it('allows each index query on its own service’s index keys only', () => {
    expect(can('VisitsListVisits', 'dynamodb:Query', ['$visits#memberid_m#status_open'], 'gsi3')).toBe(true);
    expect(can('VisitsListVisits', 'dynamodb:Query', ['$tasks#userId_X'], 'gsi1')).toBe(false);
    expect(can('DispatchListMessages', 'dynamodb:Query', ['$dispatch#tonumber_+14155552671'], 'gsi1')).toBe(
      true,
    );
    expect(can('TasksPlanReports', 'dynamodb:Query', ['$tasks#shard_3'], 'gsi3')).toBe(true);
    expect(can('TasksPlanReports', 'dynamodb:Query', ['$visits#status_open'], 'gsi1')).toBe(false);
  });

  it('lets an idempotent route reach its own Idempotency-Key records and no other route’s', () => {
    const own = ['$idem#DispatchSendMessage#app#key-1'];
    expect(can('DispatchSendMessage', 'dynamodb:PutItem', own)).toBe(true);
    expect(can('DispatchSendMessage', 'dynamodb:DeleteItem', own)).toBe(true);
    expect(can('DispatchSendMessage', 'dynamodb:PutItem', ['$idem#VisitsRequestVisit#u#key-1'])).toBe(false);
    // A route without Idempotency-Key support has no idempotency records at all.
    expect(can('DispatchDeliveryStatus', 'dynamodb:PutItem', ['$idem#DispatchDeliveryStatus#x#k'])).toBe(
      false,
    );
  });

  it('adds the prefixes a route declares in access.tableKeys, for that function only', () => {
    const rate = ['$rate#fixture-create#203.0.113.9'];
    expect(
      allows(statementsOf('FixtureCreateItem'), { action: 'dynamodb:UpdateItem', keys: rate }, tableIdOf()),
    ).toBe(true);
    expect(
      allows(statementsOf('FixtureWebhook'), { action: 'dynamodb:UpdateItem', keys: rate }, tableIdOf()),
    ).toBe(false);
  });

  it('the evaluator can fail: without the condition, foreign keys would pass', () => {
    const loose: Statement[] = [
      { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
    ];
    expect(allows(loose, { action: 'dynamodb:GetItem', keys: ['$visits#userid_x'] }, tableId)).toBe(true);
  });
});

function tableIdOf(): string {
  return Object.keys(all).find((id) => all[id].Type === 'AWS::DynamoDB::Table') as string;
}
