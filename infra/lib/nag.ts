import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { anyKmsKeyArn } from './service-function.js';
import type { ServicesStack } from './services-stack.js';

/**
 * Every cdk-nag finding this app accepts, in one place, each on the narrowest scope and with its reason.
 * Anything not listed here fails `cdk synth`.
 */
export function acknowledgeNagFindings(stack: ServicesStack): void {
  const ack = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const arnOf = (construct: IConstruct) =>
    `<${Stack.of(construct).resolve((construct.node.defaultChild as CfnResource).logicalId)}.Arn>`;
  // Region and account are literals when the stack has an env (cdk CLI sets CDK_DEFAULT_REGION), tokens otherwise.
  const nagString = (value: unknown) => renderLikeNag(Stack.of(stack).resolve(value));
  const { platform } = stack;

  ack(
    stack,
    `AwsSolutions-IAM5[Resource::${nagString(anyKmsKeyArn(stack))}]`,
    'The aws/ssm key id is unknown at synth; Decrypt is limited by kms:ViaService=ssm and the PARAMETER_ARN encryption context.',
  );

  if (!platform.stage.pointInTimeRecovery) {
    ack(
      platform.table,
      'AwsSolutions-DDB3',
      `Stage ${platform.stage.name} holds disposable data; its config turns PITR off.`,
    );
  }
  const bucket = platform.existingReportsBucket;
  if (bucket) {
    ack(
      bucket,
      'AwsSolutions-S1',
      'Only this stack’s functions read or write reports; CloudTrail data events are the audit path.',
    );
    ack(
      stack,
      `AwsSolutions-IAM5[Resource::${arnOf(bucket)}/*]`,
      'Report objects are keyed per user and window, so the grant covers the objects of the one reports bucket.',
    );
  }
  if (platform.alarmDeliveryDlq) {
    const reason = 'It is the dead-letter queue of the alarm email subscription.';
    ack(platform.alarmDeliveryDlq, 'Serverless-SQSRedrivePolicy', reason);
    ack(platform.alarmDeliveryDlq, 'AwsSolutions-SQS3', reason);
  }

  for (const api of stack.serviceApis.values()) {
    for (const route of api.routes.values()) {
      ack(
        route,
        'AwsSolutions-APIG4',
        'Callers are authenticated in the handler (JWT via jose, service tokens, signatures) so every 401 uses the one error envelope.',
      );
    }
    for (const fn of api.functions.values()) {
      ack(
        fn.role ?? fn,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource scoping.',
      );
      if (!fn.deadLetterQueue) {
        ack(
          fn,
          'Serverless-LambdaDLQ',
          'Invoked synchronously (API Gateway, SQS event source); failures return to the caller or the queue’s DLQ.',
        );
      }
    }
    for (const fn of api.consumers.values()) {
      ack(
        fn,
        'Serverless-LambdaEventSourceMappingDestination',
        'SQS event sources take no on-failure destination; the source queue’s redrive policy moves failures to its DLQ.',
      );
    }
    for (const dlq of api.deadLetterQueues.values()) {
      ack(dlq, 'Serverless-SQSRedrivePolicy', 'It is itself a dead-letter queue.');
    }
    for (const [functionName, role] of api.schedulerRoles) {
      // The function's logical id is its functionName (ServiceFunction overrides it).
      ack(
        role,
        `AwsSolutions-IAM5[Resource::<${functionName}.Arn>:*]`,
        'CDK grants the scheduler invoke on the function and its versions; nothing beyond that one function.',
      );
    }
  }
}

/** A resolved CloudFormation value as cdk-nag prints it in finding ids: `{Ref: X}` → `<X>`, joins flattened. */
function renderLikeNag(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(renderLikeNag).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)} as a cdk-nag finding id`);
}

/** The rule packs the app runs on every synth. */
export function nagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()];
}

/** Findings of every pack under `scope` that nobody acknowledged, as `<rule>: <construct paths>`. */
export function unacknowledgedFindings(scope: IConstruct, severity: 'error' | 'warning' = 'error'): string[] {
  return nagPacks().flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.filter((v) => v.severity === severity)
      .map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
  );
}
