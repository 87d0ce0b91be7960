import { dispatchService } from '@svc/dispatch/routes';
import { describe, expect, it } from 'vitest';
import { type Json, resourcesOfType, synthStage } from './synth.js';

/**
 * dispatch status callbacks (SPEC §5) in the synthesized template: their own queue with a DLQ, an alarm and
 * redrive, a consumer fed with partial batch failures, and grants derived from the route table — the
 * status-callback secret only for the consumer, the queue only for the functions that announce to it.
 */
const { template } = synthStage('prod', {
  services: [dispatchService],
  overrides: { alarmEmail: 'ops@example.com' },
});
const all = template.toJSON().Resources as Record<string, Json>;

interface Statement {
  Action: string | string[];
  Resource: Json;
}
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

function statementsOf(functionName: string): Statement[] {
  const roleId = all[functionName].Properties.Role['Fn::GetAtt'][0] as string;
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const queueIdOf = (name: string) =>
  resourcesOfType(template, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === name)?.[0] ?? '';
const sendsTo = (functionName: string) =>
  statementsOf(functionName)
    .filter((s) => list(s.Action).includes('sqs:SendMessage'))
    .map((s) => s.Resource['Fn::GetAtt'][0] as string)
    .sort();
const parametersOf = (functionName: string) =>
  statementsOf(functionName)
    .filter((s) => list(s.Action).includes('ssm:GetParameter'))
    .flatMap((s) => list(s.Resource))
    .map((r) => JSON.stringify(r).match(/parameter(\/svc\/[^"]+)/)?.[1]);

const SOURCE = 'svc-prod-dispatch-status-callbacks';
const DLQ = 'svc-prod-dispatch-status-callbacks-dlq';

describe('dispatch status callbacks in the template', () => {
  it('has its own queue whose DLQ takes messages after maxReceiveCount and redrives only back to it', () => {
    const source = all[queueIdOf(SOURCE)];
    const dlqId = queueIdOf(DLQ);
    expect(source.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: 8,
    });
    // 6 × the consumer's 30 s timeout.
    expect(source.Properties.VisibilityTimeout).toBe(180);
    expect(all[dlqId].Properties.RedriveAllowPolicy.redrivePermission).toBe('byQueue');
    expect(JSON.stringify(all[dlqId].Properties.RedriveAllowPolicy)).toContain(SOURCE);
  });

  it('alarms as soon as one callback job is in the DLQ', () => {
    const dlqId = queueIdOf(DLQ);
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(([, a]) =>
      JSON.stringify(a.Properties.Dimensions ?? a.Properties.Metrics ?? '').includes(dlqId),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [expect.anything()],
    });
  });

  it('feeds DispatchStatusCallbacks from that queue with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: 'DispatchStatusCallbacks' },
      EventSourceArn: { 'Fn::GetAtt': [queueIdOf(SOURCE), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const env = all.DispatchStatusCallbacks.Properties.Environment.Variables;
    expect(env).toMatchObject({
      PARAM_DISPATCH_STATUS_CALLBACK_SECRET: '/svc/prod/dispatch-status-callback-secret',
      QUEUE_URL_DISPATCH_STATUS_CALLBACKS: { Ref: queueIdOf(SOURCE) },
      SQS_QUEUE_URL: { Ref: queueIdOf(SOURCE) },
      SQS_RETRY_BACKOFF_SECONDS: '30',
    });
    // Deployed: https to public addresses only.
    expect(env).not.toHaveProperty('STATUS_CALLBACK_LOCAL_HTTP');
    expect(all.DispatchSendMessage.Properties.Environment.Variables).not.toHaveProperty(
      'STATUS_CALLBACK_LOCAL_HTTP',
    );
  });

  it('grants the signing secret to the consumer alone, and the queue only to those announcing to it', () => {
    const callbacksQueue = queueIdOf(SOURCE);
    const sendQueue = queueIdOf('svc-prod-dispatch-send');
    expect(parametersOf('DispatchStatusCallbacks')).toEqual(['/svc/prod/dispatch-status-callback-secret']);
    for (const fn of [
      'DispatchSendMessage',
      'DispatchSender',
      'DispatchDeliveryStatus',
      'DispatchGetMessage',
    ])
      expect(parametersOf(fn), fn).not.toContain('/svc/prod/dispatch-status-callback-secret');
    expect(sendsTo('DispatchStatusCallbacks')).toEqual([callbacksQueue]);
    // The sender also sends to its own queue: a provider's acceptance the table refused goes back onto it.
    expect(sendsTo('DispatchSender')).toContain(callbacksQueue);
    expect(sendsTo('DispatchSender')).toHaveLength(2);
    expect(sendsTo('DispatchDeliveryStatus')).toEqual([callbacksQueue]);
    // Accepting a message only queues it for sending: `queued` is never announced.
    expect(sendsTo('DispatchSendMessage')).toEqual([sendQueue]);
    expect(sendsTo('DispatchGetMessage')).toEqual([]);
  });
});
