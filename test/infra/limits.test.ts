import { dispatchService } from '@svc/dispatch/routes';
import { presets, SPEC_LIMITS, stageConfig } from '@svc/infra/stage-config';
import { visitsService } from '@svc/visits/routes';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Json, synthStage } from './synth.js';

const prod = synthStage('prod', {
  services: [visitsService, dispatchService],
  overrides: { alarmEmail: 'ops@example.com' },
});
const resources = prod.template.toJSON().Resources as Record<string, Json>;
const limitsOf = (fn: string) =>
  JSON.parse(resources[fn]?.Properties.Environment.Variables.RATE_LIMITS ?? 'null');

describe('abuse limits in the deployed template', () => {
  it('every preset carries the SPEC §1/§5 numbers', () => {
    for (const preset of Object.values(presets)) expect(preset.limits).toEqual(SPEC_LIMITS);
    expect(SPEC_LIMITS).toMatchObject({
      loginFailuresPerEmail: { limit: 5, windowSeconds: 900 },
      loginFailuresPerIp: { limit: 100, windowSeconds: 900 },
      registrationsPerIp: { limit: 20, windowSeconds: 3600 },
      messagesPerDestination: { limit: 5, windowSeconds: 3600 },
      messagesPerCaller: { ratePerSecond: 20, burst: 200 },
      dailySegments: { limit: 10_000, windowSeconds: 86_400, alarmPercent: 80 },
    });
  });

  it('a stage can override one limit and keeps the others; a bad one fails the synth', () => {
    const stage = stageConfig('feature-1', {
      limits: { registrationsPerIp: { kind: 'window', limit: 3, windowSeconds: 60 } },
    });
    expect(stage.limits.registrationsPerIp.limit).toBe(3);
    expect(stage.limits.loginFailuresPerEmail.limit).toBe(5);
    expect(() =>
      stageConfig('feature-1', {
        limits: { messagesPerCaller: { kind: 'bucket', ratePerSecond: 0, burst: 1 } },
      }),
    ).toThrow(/limits\.messagesPerCaller/);
  });

  it('each function gets exactly the limits its route declares, keyed under its service prefix', () => {
    expect(limitsOf('VisitsRegister')).toEqual({
      prefix: '$visits',
      rules: { registrationsPerIp: SPEC_LIMITS.registrationsPerIp },
    });
    expect(limitsOf('VisitsStartSession')).toEqual({
      prefix: '$visits',
      rules: {
        loginFailuresPerIp: SPEC_LIMITS.loginFailuresPerIp,
        loginFailuresPerEmail: SPEC_LIMITS.loginFailuresPerEmail,
      },
    });
    expect(limitsOf('DispatchSendMessage')).toEqual({
      prefix: '$dispatch',
      rules: {
        messagesPerCaller: SPEC_LIMITS.messagesPerCaller,
        messagesPerDestination: SPEC_LIMITS.messagesPerDestination,
        dailySegments: SPEC_LIMITS.dailySegments,
      },
    });
    expect(limitsOf('VisitsGetUser')).toBeNull();
    expect(limitsOf('DispatchGetMessage')).toBeNull();
  });

  it('the daily segment cap alarms at 80 %, from a metric filter on the send function’s own log group', () => {
    prod.template.resourceCountIs('AWS::Logs::MetricFilter', 1);
    prod.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('DispatchSendMessageLogs') },
      FilterPattern: '{ $.limit_setting = "dailySegments" }',
      MetricTransformations: [
        {
          MetricNamespace: 'Svc/prod',
          MetricName: 'dailySegmentsFillPercent',
          MetricValue: '$.limit_fill_percent',
        },
      ],
    });
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Svc/prod',
      MetricName: 'dailySegmentsFillPercent',
      Statistic: 'Maximum',
      Threshold: 80,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    });
  });
});
