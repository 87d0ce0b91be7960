import { TABLE } from '@svc/platform/table';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
    }
  }

  /**
   * The reports bucket, created the first time a function asks for `access.bucket` (a stack without such
   * a function has no bucket). Private, SSL only, SSE-S3. Not auto-emptied: `destroy` stages must empty
   * it before the stack is deleted (auto-delete would add a CDK-provided Lambda outside our defaults).
   */
  reportsBucket(): s3.Bucket {
    this.bucket ??= new s3.Bucket(this, 'ReportsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: removalPolicyOf(this.stage),
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
