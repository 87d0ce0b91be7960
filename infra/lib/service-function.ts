import { fileURLToPath } from 'node:url';
import type { Access } from '@svc/platform/routes';
import { TABLE } from '@svc/platform/table';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { nodejsBundling } from './bundling.js';
import {
  baseEnvironment,
  parameterName,
  parameterVariable,
  queueUrlVariable,
  type StageConfig,
} from './stage-config.js';

/** What `access.table: 'read'` allows on the function's own items (TransactGetItems needs GetItem only). */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
/** `'write'`: reads plus item writes; TransactWriteItems needs the action of each of its parts. */
export const TABLE_WRITE_ACTIONS = [
  ...TABLE_READ_ACTIONS,
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/** Every KMS key of the stack's account and region: the aws/ssm key's id is not known at synth. */
export const anyKmsKeyArn = (stack: Stack) =>
  stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });

/** The monorepo root: handler paths in route tables are relative to it, and esbuild resolves from it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const APPLICATION_LOG_LEVEL: Record<StageConfig['logLevel'], lambda.ApplicationLogLevel> = {
  DEBUG: lambda.ApplicationLogLevel.DEBUG,
  INFO: lambda.ApplicationLogLevel.INFO,
  WARN: lambda.ApplicationLogLevel.WARN,
  ERROR: lambda.ApplicationLogLevel.ERROR,
  SILENT: lambda.ApplicationLogLevel.FATAL,
};

export interface ServiceFunctionProps {
  stage: StageConfig;
  /** Owning service: POWERTOOLS_SERVICE_NAME and the `service` tag. */
  serviceName: string;
  /** Stable PascalCase id from the route table; becomes the CloudFormation logical id (sam local invoke). */
  functionName: string;
  /** Repo-relative handler file exporting `handler`. */
  handler: string;
  description?: string;
  timeoutSeconds?: number;
  /** Where failed asynchronous invocations go (scheduled jobs); API and SQS invocations are synchronous. */
  deadLetterQueue?: IQueue;
  /** Extra environment (stage settings, API URL, JWT settings); access-derived variables come from `grantAccess`. */
  environment?: Record<string, string>;
}

/** What `grantAccess` may bind a function to. Missing targets fail the synth with the function's name. */
export interface AccessTargets {
  table?: ITable;
  /** Partition-key prefixes the function may touch (`tableKeyPrefixes` of its route-table entry). */
  tableKeys?: readonly string[];
  /** Logical queue name → queue. */
  queues?: ReadonlyMap<string, IQueue>;
  bucket?: IBucket;
}

/**
 * Every Lambda of every service: Node 24 on arm64, ESM bundled locally by esbuild (no Docker) with the
 * AWS SDK inside the bundle so the version is the lockfile's, readable stack traces, JSON logs into an explicit
 * log group with the stage's retention, X-Ray active, and an execution role with no managed policies.
 */
export class ServiceFunction extends NodejsFunction {
  readonly functionId: string;
  /** The explicit log group (the base class's `logGroup` accessor returns it as ILogGroup). */
  readonly functionLogGroup: logs.LogGroup;
  private readonly stageConfig: StageConfig;

  constructor(scope: Construct, props: ServiceFunctionProps) {
    const { stage } = props;
    const id = props.functionName;
    // Created beside the function (not inside) because they must exist before `super`.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: stage.logRetentionDays as logs.RetentionDays,
      removalPolicy: stage.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    // Only its own log group, instead of AWSLambdaBasicExecutionRole's logs:* on every group.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    super(scope, id, {
      entry: `${REPO_ROOT}${props.handler}`,
      handler: 'handler',
      description: props.description?.slice(0, 256),
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}pnpm-lock.yaml`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: stage.functions.memoryMb,
      timeout: Duration.seconds(props.timeoutSeconds ?? stage.functions.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: APPLICATION_LOG_LEVEL[stage.logLevel],
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      awsSdkConnectionReuse: false,
      environment: { ...baseEnvironment(stage, props.serviceName), ...props.environment },
      bundling: nodejsBundling(),
    });

    this.functionId = id;
    this.functionLogGroup = logGroup;
    this.stageConfig = stage;
    // Stable id for `sam local invoke -t cdk.out/<Stack>.template.json <FunctionName>`.
    (this.node.defaultChild as lambda.CfnFunction).overrideLogicalId(id);
  }

  /**
   * Applies a route table's `Access` in one place: each capability sets its environment variable and
   * its IAM grant together, scoped to exactly the named resources.
   */
  grantAccess(access: Access, targets: AccessTargets): void {
    const stack = Stack.of(this);
    const fail = (what: string): never => {
      throw new Error(`${this.functionId}: access.${what} but the stack has none`);
    };

    if (access.table) {
      const table = targets.table ?? fail('table');
      const prefixes = targets.tableKeys ?? [];
      if (prefixes.length === 0) fail('table with no key prefixes (tableKeys)');
      this.addEnvironment('TABLE_NAME', table.tableName);
      // Only its own items: every key the request names (table or index partition key) must start with one
      // of its prefixes. ForAllValues is vacuously true for a request without keys (Scan), so Scan is
      // never granted, nor DescribeTable, PartiQL or streams.
      const ownKeys = {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) },
      };
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: access.table === 'write' ? TABLE_WRITE_ACTIONS : TABLE_READ_ACTIONS,
          resources: [table.tableArn],
          conditions: ownKeys,
        }),
      );
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: TABLE.globalIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
          conditions: ownKeys,
        }),
      );
    }

    for (const name of access.sendsTo ?? []) {
      const queue = targets.queues?.get(name) ?? fail(`sendsTo "${name}"`);
      this.addEnvironment(queueUrlVariable(name), queue.queueUrl);
      // SendMessage only: the URL comes from the environment, so GetQueueUrl/GetQueueAttributes are not needed.
      this.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
    }

    const parameters = access.parameters ?? [];
    if (parameters.length > 0) {
      const arns = parameters.map((p) => {
        const full = parameterName(this.stageConfig.name, p);
        this.addEnvironment(parameterVariable(p), full);
        return stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: full.slice(1) });
      });
      this.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: arns }));
      // SecureStrings under the AWS managed aws/ssm key: decrypt only through SSM, only for these parameters.
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [anyKmsKeyArn(stack)],
          conditions: {
            StringEquals: {
              'kms:ViaService': `ssm.${stack.region}.amazonaws.com`,
              'kms:EncryptionContext:PARAMETER_ARN': arns,
            },
          },
        }),
      );
    }

    if (access.ses) {
      const from = this.stageConfig.settings.emailFrom;
      const domain = from.slice(from.indexOf('@') + 1);
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [from, domain].map((identity) =>
            stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
          ),
          conditions: { StringEquals: { 'ses:FromAddress': from } },
        }),
      );
    }

    if (access.bucket) {
      const bucket = targets.bucket ?? fail('bucket');
      this.addEnvironment('REPORTS_BUCKET', bucket.bucketName);
      // Objects only (no delete, no ACLs); ListBucket so a missing key reads as NoSuchKey, not AccessDenied.
      const objectActions = access.bucket === 'write' ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'];
      this.addToRolePolicy(
        new iam.PolicyStatement({ actions: objectActions, resources: [bucket.arnForObjects('*')] }),
      );
      this.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
      );
    }
  }
}
