import { TABLE } from '@svc/platform/table';
import { API_DOCUMENT_PATH } from '@svc/platform/unmatched-route';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from './stage-config.js';

export interface PlatformProps {
  stage: StageConfig;
}

/** One JSON object per request; `$context.requestId` is required by API Gateway. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
});

export const removalPolicyOf = (stage: StageConfig) =>
  stage.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

/**
 * What every service shares: the single table, the HTTP API with its `$default` stage, the alarm topic,
 * and a registry of queues so a function can send to a queue another service owns.
 */
export class Platform extends Construct {
  readonly stage: StageConfig;
  readonly table: dynamodb.Table;
  readonly httpApi: HttpApi;
  readonly httpStage: HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly alarmTopic: sns.Topic;
  readonly apiServerErrorsAlarm: cloudwatch.Alarm;
  /** Logical queue name → queue, filled by each ServiceApi for the queues it owns. */
  readonly queues = new Map<string, sqs.IQueue>();
  /** Alarm emails SNS could not deliver (only when the stage has an alarm email). */
  readonly alarmDeliveryDlq?: sqs.Queue;
  private bucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: PlatformProps) {
    super(scope, id);
    const { stage } = props;
    if (stage.removal === 'retain' && !stage.alarmEmail)
      throw new Error(
        `stage ${stage.name} keeps its data but has no alarmEmail: set it in its preset (infra/lib/stage-config.ts), ` +
          'so that every deploy of this commit, a rollback included, keeps the alarm subscription',
      );
    this.stage = stage;
    const removalPolicy = removalPolicyOf(stage);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: stage.pointInTimeRecovery },
      deletionProtection: stage.deletionProtection,
      removalPolicy,
    });
    for (const index of TABLE.globalIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `svc-${stage.name}`,
      description: `Every service's routes (stage ${stage.name})`,
      // An explicit stage so access logs and throttling are ours, not the implicit stage's defaults.
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: stage.logRetentionDays as logs.RetentionDays,
      removalPolicy,
    });
    this.httpStage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: stage.api.throttlingRateLimit, burstLimit: stage.api.throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `svc ${stage.name} alarms`,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, and a topic policy replaces SNS's default one: without this Allow
    // CloudWatch may not publish and every alarm fails with "not authorized to perform: SNS:Publish".
    // (Encrypting the topic would also need a customer-managed key whose policy lets CloudWatch use it.)
    const stack = Stack.of(this);
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    // Handlers answer their own faults with a 500 response, which Lambda does not count as an Error:
    // the API's 5xx count is what sees them.
    this.apiServerErrorsAlarm = new cloudwatch.Alarm(this, 'ApiServerErrorsAlarm', {
      alarmDescription: `HTTP API answered 5xx (stage ${stage.name}): a handler fault, timeout or dependency outage.`,
      metric: this.httpApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.apiServerErrorsAlarm.addAlarmAction(new SnsAction(this.alarmTopic));
    if (stage.alarmEmail) {
      // An alarm nobody received should not vanish: undeliverable notifications are kept for 14 days.
      this.alarmDeliveryDlq = new sqs.Queue(this, 'AlarmDeliveryDlq', {
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      this.alarmTopic.addSubscription(
        new subscriptions.EmailSubscription(stage.alarmEmail, { deadLetterQueue: this.alarmDeliveryDlq }),
      );
      new CfnOutput(this, 'AlarmDeliveryDlqNameOutput', {
        key: 'DlqNameAlarmDelivery',
        value: this.alarmDeliveryDlq.queueName,
      });
      // SNS wrote these, not a queue: StartMessageMoveTask cannot move them anywhere. Its notification goes
      // through the same topic: a transient failure still reaches the mailbox, a lasting one shows on the dashboard.
      const undelivered = new cloudwatch.Alarm(this, 'AlarmDeliveryDlqAlarm', {
        alarmDescription:
          `SNS could not email an alarm notification to ${stage.alarmEmail} (stage ${stage.name}). The messages ` +
          'are the notifications themselves and came from SNS, so they cannot be redriven: read them in the SQS ' +
          'console, check the subscription (confirmed? address right? mailbox full?), then purge the queue.',
        metric: this.alarmDeliveryDlq.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      undelivered.addAlarmAction(new SnsAction(this.alarmTopic));
    }

    new CfnOutput(this, 'ApiUrl', {
      key: 'ApiUrl',
      description: 'Base URL of the HTTP API (every service route hangs off it)',
      value: this.httpApi.apiEndpoint,
    });
    new CfnOutput(this, 'ApiDocumentUrl', {
      key: 'ApiDocumentUrl',
      description: 'The OpenAPI document of every route (served by the $default route)',
      value: `${this.httpApi.apiEndpoint}${API_DOCUMENT_PATH}`,
    });
    new CfnOutput(this, 'TableName', { key: 'TableName', value: this.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { key: 'AlarmTopicArn', value: this.alarmTopic.topicArn });
  }

  /**
   * The reports bucket, created the first time a function asks for `access.bucket` (a stack without such
   * a function has no bucket). Private, SSL only, SSE-S3. A `destroy` stage empties it when the stack is
   * deleted (CDK's auto-delete custom resource); otherwise `cdk destroy` fails on the first stored report.
   */
  reportsBucket(): s3.Bucket {
    if (this.bucket) return this.bucket;
    this.bucket = new s3.Bucket(this, 'ReportsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: removalPolicyOf(this.stage),
      autoDeleteObjects: this.stage.removal === 'destroy',
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Retention (SPEC §2): reports expire after the stage's setting, as their index items do (TTL).
        // Reports kept long enough move to cheaper storage first.
        {
          id: 'ReportRetention',
          expiration: Duration.days(this.stage.settings.reportRetentionDays),
          ...(this.stage.settings.reportRetentionDays > 60
            ? {
                transitions: [
                  { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(30) },
                ],
              }
            : {}),
        },
      ],
    });
    new CfnOutput(this, 'ReportsBucketName', { key: 'ReportsBucketName', value: this.bucket.bucketName });
    return this.bucket;
  }

  /** The reports bucket if some function asked for it, without creating it. */
  get existingReportsBucket(): s3.Bucket | undefined {
    return this.bucket;
  }

  /** The API's own base URL (no trailing slash), e.g. for provider callbacks. */
  get apiUrl(): string {
    return this.httpApi.apiEndpoint;
  }
}
