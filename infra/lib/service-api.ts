import {
  type Access,
  type DefaultRoute,
  type HttpRoute,
  type QueueConsumer,
  type ScheduledJob,
  type ServiceDefinition,
  tableKeyPrefixes,
} from '@svc/platform/routes';
import { CfnOutput, Duration, Stack, Tags } from 'aws-cdk-lib';
import { HttpRoute as ApiRoute, HttpMethod, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Platform } from './platform.js';
import { type AccessTargets, ServiceFunction } from './service-function.js';
import {
  deadLetterQueueName,
  jwtEnvironment,
  type LimitName,
  limitsEnvironment,
  physicalQueueName,
  type StageConfig,
  settingsEnvironment,
  upperSnake,
} from './stage-config.js';

export interface ServiceApiProps {
  platform: Platform;
  service: ServiceDefinition;
}

/** SQS needs time for a consumer to finish before a message reappears; AWS recommends 6 × the timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Retries EventBridge Scheduler makes before a scheduled invocation goes to the schedule's DLQ. */
export const SCHEDULE_RETRY_ATTEMPTS = 5;

/**
 * The HTTP API gives up on an integration after 30 s (and answers 503 while the function runs on), so every
 * route function must stop before that; the middleware's early stop then still answers in the envelope.
 */
export const MAX_API_FUNCTION_TIMEOUT_SECONDS = 29;

/** A source queue keeps messages 4 days; its DLQ keeps them the SQS maximum, 14, for inspection and redrive. */
const DLQ_RETENTION = Duration.days(14);

/**
 * Everything one ServiceDefinition declares, built from the route table alone: a function and an API
 * route per route, queues with DLQs, a function plus event source per consumer, a function plus an
 * EventBridge Scheduler schedule per job, and alarms on every DLQ and every function.
 */
export class ServiceApi extends Construct {
  readonly service: ServiceDefinition;
  readonly functions = new Map<string, ServiceFunction>();
  /** Logical name → source queue / its DLQ, for the queues this service owns. */
  readonly queues = new Map<string, sqs.Queue>();
  readonly deadLetterQueues = new Map<string, sqs.Queue>();
  /** functionName → API route, for the routes of this service. */
  readonly routes = new Map<string, ApiRoute>();
  /** functionName → consumer function (invoked by an SQS event source mapping). */
  readonly consumers = new Map<string, ServiceFunction>();
  /** Scheduled functionName → the role EventBridge Scheduler assumes to invoke it. */
  readonly schedulerRoles = new Map<string, iam.Role>();
  private readonly platform: Platform;

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    const { platform, service } = props;
    this.platform = platform;
    this.service = service;
    Tags.of(this).add('service', service.name);

    for (const name of service.queues ?? []) this.addQueue(name);
    for (const route of service.routes) this.addRoute(route);
    if (service.defaultRoute) this.addDefaultRoute(service.defaultRoute);
    for (const consumer of service.consumers ?? []) this.addConsumer(consumer);
    for (const job of service.schedules ?? []) this.addSchedule(job);
  }

  private get stage() {
    return this.platform.stage;
  }

  private addQueue(name: string): void {
    if (this.platform.queues.has(name)) throw new Error(`queue "${name}" is declared by two services`);
    const stack = Stack.of(this);
    const sourceName = physicalQueueName(this.stage.name, name);
    const id = pascal(name);

    // The longest consumer of this queue decides how long a received message stays hidden.
    const consumerTimeouts = (this.service.consumers ?? [])
      .filter((c) => c.queue === name)
      .map((c) => this.timeoutOf(c));
    const longest = Math.max(this.stage.functions.timeoutSeconds, ...consumerTimeouts);
    const visibility = Math.max(
      this.stage.queues.visibilityTimeoutSeconds ?? 0,
      VISIBILITY_TIMEOUT_FACTOR * longest,
    );
    const maxReceiveCount = this.maxReceiveCountOf(name);

    const dlq = new sqs.Queue(this, `${id}Dlq`, {
      queueName: physicalQueueName(this.stage.name, deadLetterQueueName(name)),
      retentionPeriod: DLQ_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Redrive back only to its own source queue. By ARN, not by reference: the source queue already
      // references this DLQ, and a reference back would be a circular dependency.
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [
          sqs.Queue.fromQueueArn(
            this,
            `${id}SourceRef`,
            stack.formatArn({ service: 'sqs', resource: sourceName }),
          ),
        ],
      },
    });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      queueName: sourceName,
      visibilityTimeout: Duration.seconds(visibility),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: dlq, maxReceiveCount },
    });
    this.queues.set(name, queue);
    this.deadLetterQueues.set(name, dlq);
    this.platform.queues.set(name, queue);
    // What `cdk deploy` prints for the runbooks (and `pnpm sam:env` reads: consumers and senders get the URL).
    new CfnOutput(this, `${id}QueueUrl`, { key: `QueueUrl${id}`, value: queue.queueUrl });
    new CfnOutput(this, `${id}DlqName`, { key: `DlqName${id}`, value: dlq.queueName });
    this.alarmOnDeadLetters(
      `${id}Dlq`,
      dlq,
      `Messages in ${physicalQueueName(this.stage.name, deadLetterQueueName(name))}: the ${name} consumer gave up on them. Inspect them, ` +
        'fix the cause, then redrive to the source queue (console "Start DLQ redrive" or StartMessageMoveTask).',
    );
  }

  private addRoute(route: HttpRoute): void {
    const timeout = this.timeoutOf(route);
    if (timeout > MAX_API_FUNCTION_TIMEOUT_SECONDS)
      throw new Error(
        `${route.functionName}: timeout ${timeout} s, but an HTTP API function must stop within ` +
          `${MAX_API_FUNCTION_TIMEOUT_SECONDS} s (the API gives up at 30 s and answers 503 while it still runs)`,
      );
    const fn = this.addFunction(route, {
      ...(route.auth.kind === 'jwt' ? jwtEnvironment(this.stage) : {}),
      ...limitsEnvironment(this.stage, this.service.name, route.limits),
    });
    const apiRoute = new ApiRoute(this, `${route.functionName}Route`, {
      httpApi: this.platform.httpApi,
      routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
      integration: new HttpLambdaIntegration(`${route.functionName}Integration`, fn),
    });
    this.routes.set(route.functionName, apiRoute);
    for (const limit of route.limits ?? []) this.alarmOnLimitUsage(fn, limit.setting);
  }

  /**
   * A sharded limit (dispatch's daily segment cap) alarms when it is `alarmPercent` used. The limiter logs
   * each accepted take's shard fill (`limit_fill_percent`); shards fill evenly (random shard per take), so
   * the fullest shard is the day's fill, a little early rather than late. A metric filter turns that log
   * line into a metric: no extra call on the send path.
   */
  private alarmOnLimitUsage(fn: ServiceFunction, setting: string): void {
    const rule = this.stage.limits[setting as LimitName];
    if (rule?.kind !== 'sharded') return;
    const id = `${fn.functionId}${setting.charAt(0).toUpperCase()}${setting.slice(1)}`;
    const metricName = `${setting}FillPercent`;
    const namespace = `Svc/${this.stage.name}`;
    new logs.MetricFilter(this, `${id}UsageFilter`, {
      logGroup: fn.functionLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.limit_setting', '=', setting),
      metricNamespace: namespace,
      metricName,
      metricValue: '$.limit_fill_percent',
    });
    const alarm = new cloudwatch.Alarm(this, `${id}UsageAlarm`, {
      alarmDescription: `${setting} passed ${rule.alarmPercent}% of ${rule.limit} (stage ${this.stage.name}); past 100% sends are 429 until the window ends.`,
      metric: new cloudwatch.Metric({
        namespace,
        metricName,
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: rule.alarmPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.platform.alarmTopic));
  }

  /** `$default`: what no METHOD path matches reaches this function instead of API Gateway's own 404. */
  private addDefaultRoute(route: DefaultRoute): void {
    const timeout = this.timeoutOf(route);
    if (timeout > MAX_API_FUNCTION_TIMEOUT_SECONDS)
      throw new Error(
        `${route.functionName}: timeout ${timeout} s exceeds ${MAX_API_FUNCTION_TIMEOUT_SECONDS} s`,
      );
    const fn = this.addFunction(route);
    this.routes.set(
      route.functionName,
      new ApiRoute(this, `${route.functionName}Route`, {
        httpApi: this.platform.httpApi,
        routeKey: HttpRouteKey.DEFAULT,
        integration: new HttpLambdaIntegration(`${route.functionName}Integration`, fn),
      }),
    );
  }

  private addConsumer(consumer: QueueConsumer): void {
    const queue = this.queues.get(consumer.queue);
    if (!queue)
      throw new Error(
        `${consumer.functionName}: queue "${consumer.queue}" is not in service ${this.service.name}'s queues`,
      );
    const fn = this.addFunction(consumer, {
      // What the consumer counts its attempts against is the queue's own redrive setting.
      SQS_MAX_RECEIVE_COUNT: String(this.maxReceiveCountOf(consumer.queue)),
      // To postpone a failed record (Retry-After, backoff) with ChangeMessageVisibility.
      SQS_QUEUE_URL: queue.queueUrl,
    });
    this.consumers.set(consumer.functionName, fn);
    fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: consumer.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: maxConcurrencyOf(this.stage, consumer.queue),
      }),
    );
  }

  private addSchedule(job: ScheduledJob): void {
    const id = pascal(job.schedule);
    const dlq = new sqs.Queue(this, `${id}ScheduleDlq`, {
      queueName: physicalQueueName(this.stage.name, `${job.schedule}-schedule-dlq`),
      retentionPeriod: DLQ_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    // One DLQ for "a scheduled run did not happen": undeliverable by the scheduler, or failed after Lambda's async retries.
    const fn = this.addFunction(job, {}, dlq);
    // Our own role (not the target's shared default) so it is scoped to this account and this job.
    const role = new iam.Role(this, `${id}SchedulerRole`, {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `EventBridge Scheduler invoking ${job.functionName}`,
    });
    this.schedulerRoles.set(job.functionName, role);
    new Schedule(this, `${id}Schedule`, {
      scheduleName: `svc-${this.stage.name}-${job.schedule}`,
      description: job.summary,
      schedule: ScheduleExpression.expression(rateExpression(this.stage.settings.reportIntervalMinutes)),
      target: new LambdaInvoke(fn, {
        role,
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        // A late run still covers its whole window, so an hour of retrying is useful, not harmful.
        maxEventAge: Duration.hours(1),
        deadLetterQueue: dlq,
      }),
    });
    this.deadLetterQueues.set(`${job.schedule}-schedule`, dlq);
    new CfnOutput(this, `${id}ScheduleDlqName`, { key: `DlqName${id}Schedule`, value: dlq.queueName });
    this.alarmOnDeadLetters(
      `${id}ScheduleDlq`,
      dlq,
      `A scheduled ${job.schedule} run did not happen (${job.functionName}): EventBridge Scheduler could not ` +
        'invoke it, or it failed after Lambda retried it. These messages came from Scheduler and Lambda, not ' +
        'from a queue, so "Start DLQ redrive" cannot move them: read one for the run time and the error, fix ' +
        `the cause, then run ${job.functionName} again with the message body as its event (aws lambda invoke ` +
        '--invocation-type Event) or let the next scheduled run catch up, and delete the messages.',
    );
  }

  private addFunction(
    entry: {
      functionName: string;
      handler: string;
      summary: string;
      timeoutSeconds?: number;
      access: Access;
      idempotent?: boolean;
    },
    extraEnvironment: Record<string, string> = {},
    deadLetterQueue?: sqs.IQueue,
  ): ServiceFunction {
    const fn = new ServiceFunction(this, {
      stage: this.stage,
      serviceName: this.service.name,
      functionName: entry.functionName,
      handler: entry.handler,
      description: entry.summary,
      timeoutSeconds: this.timeoutOf(entry),
      environment: { ...settingsEnvironment(this.stage, this.platform.apiUrl), ...extraEnvironment },
      ...(deadLetterQueue ? { deadLetterQueue } : {}),
    });
    fn.grantAccess(entry.access, {
      ...this.accessTargets(entry.access),
      tableKeys: tableKeyPrefixes(this.service.name, entry),
    });
    this.functions.set(entry.functionName, fn);
    this.alarmOnFunction(fn);
    return fn;
  }

  private accessTargets(access: Access): AccessTargets {
    return {
      table: this.platform.table,
      queues: this.platform.queues,
      // Only asked for when needed, so stacks without a bucket user get no bucket.
      ...(access.bucket ? { bucket: this.platform.reportsBucket() } : {}),
    };
  }

  private timeoutOf(entry: { timeoutSeconds?: number }): number {
    return entry.timeoutSeconds ?? this.stage.functions.timeoutSeconds;
  }

  private maxReceiveCountOf(queue: string): number {
    const declared = (this.service.consumers ?? []).find((c) => c.queue === queue)?.maxReceiveCount;
    return declared ?? this.stage.queues.maxReceiveCount;
  }

  private alarmOnDeadLetters(id: string, dlq: sqs.Queue, description: string): void {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      alarmDescription: `${description} (stage ${this.stage.name})`.slice(0, 1024),
      metric: dlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.platform.alarmTopic));
  }

  private alarmOnFunction(fn: ServiceFunction): void {
    const metrics = { Errors: fn.metricErrors(), Throttles: fn.metricThrottles() };
    for (const [kind, metric] of Object.entries(metrics)) {
      const alarm = new cloudwatch.Alarm(this, `${fn.functionId}${kind}Alarm`, {
        alarmDescription: `${fn.functionId} ${kind.toLowerCase()} (stage ${this.stage.name})`,
        metric: metric.with({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new SnsAction(this.platform.alarmTopic));
    }
  }
}

/** The maximum concurrency of a queue's event source: the queue's own stage setting, else the stage default. */
export function maxConcurrencyOf(stage: StageConfig, queue: string): number {
  return stage.queues.maxConcurrencyByQueue?.[queue] ?? stage.queues.maxConcurrency;
}

/** `rate(60 minutes)`, not CDK's `rate(1 hour)`: the form the stage setting and the local scheduler use. */
export function rateExpression(minutes: number): string {
  return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
}

/** `task-reports` → `TaskReports` (construct ids). */
function pascal(name: string): string {
  return upperSnake(name)
    .split('_')
    .map((part) => part.charAt(0) + part.slice(1).toLowerCase())
    .join('');
}
