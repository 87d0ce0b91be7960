import { tasksService } from '@svc/tasks/routes';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Json, synthStage } from './synth.js';

/**
 * SPEC §2 retention from one stage setting (settings.reportRetentionDays, 90 in prod): the reports
 * bucket expires objects after it, and the functions that index reports get it for the index's TTL.
 */
describe('task report retention', () => {
  const prod = synthStage('prod', { services: [tasksService], overrides: { alarmEmail: 'ops@example.com' } });
  const short = synthStage('feature-x', {
    services: [tasksService],
    overrides: { settings: { reportRetentionDays: 7 } },
  });

  it('expires report objects after the stage setting (90 days in prod), cheaper storage only before that', () => {
    prod.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'ReportRetention',
            Status: 'Enabled',
            ExpirationInDays: 90,
            Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }],
          }),
        ]),
      },
    });
    const rules = Object.values(short.template.findResources('AWS::S3::Bucket'))[0]?.Properties
      .LifecycleConfiguration.Rules as Json[];
    const retention = rules.find((r) => r.Id === 'ReportRetention');
    expect(retention).toMatchObject({ ExpirationInDays: 7 });
    expect(retention.Transitions).toBeUndefined();
  });

  it('gives the report functions the same setting for the index TTL, and the table has TTL on', () => {
    for (const [t, days] of [
      [prod.template, '90'],
      [short.template, '7'],
    ] as const) {
      const functions = Object.values(t.findResources('AWS::Lambda::Function')) as Json[];
      const reportFunctions = functions.filter((f) =>
        ['TasksPlanReports', 'TasksGenerateReport', 'TasksGetReport'].some(
          (name) =>
            JSON.stringify(f.Properties.Tags ?? []).includes(name) || JSON.stringify(f).includes(name),
        ),
      );
      expect(reportFunctions.length).toBeGreaterThanOrEqual(3);
      for (const f of reportFunctions) {
        expect(f.Properties.Environment.Variables.REPORT_RETENTION_DAYS).toBe(days);
      }
      t.hasResourceProperties('AWS::DynamoDB::Table', {
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    }
  });

  it('rejects a retention AWS would not take', () => {
    expect(() =>
      synthStage('feature-y', {
        services: [tasksService],
        overrides: { settings: { reportRetentionDays: 0 } },
      }),
    ).toThrow(/reportRetentionDays/);
  });
});
