import { createApp } from '@svc/infra/create-app';
import { unacknowledgedFindings } from '@svc/infra/nag';
import { services } from '@svc/infra/services';
import { statsService } from '@svc/stats/routes';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { fixtureService } from './fixtures/service.js';
import { NO_BUNDLING, synthStage, unscopedGrants } from './synth.js';

const unacknowledged = (stack: Stack, severity: 'error' | 'warning') =>
  unacknowledgedFindings(stack, severity);

describe('cdk-nag (AwsSolutions + Serverless)', () => {
  for (const stage of ['dev', 'prod', 'feature-42']) {
    it(`reports nothing unacknowledged for ${stage}, with every feature in use`, () => {
      const { stack, template } = synthStage(stage, {
        services: [...services, fixtureService],
        overrides: { alarmEmail: 'ops@example.com' },
      });
      expect(unacknowledged(stack, 'error')).toEqual([]);
      expect(unacknowledged(stack, 'warning')).toEqual([]);
      // The least-privilege rule of iam.test.ts, over every function of every service.
      expect(unscopedGrants(template)).toEqual([]);
    });
  }

  it('matches its acknowledgements when the stack has a concrete account and region (cdk CLI sets them)', () => {
    const { stack } = synthStage('dev', {
      services: [...services, fixtureService],
      overrides: { env: { account: '123456789012', region: 'eu-west-1' } },
    });
    expect(stack.region).toBe('eu-west-1');
    expect(unacknowledged(stack, 'error')).toEqual([]);
  });

  it('runs during synth and fails it on a finding nobody acknowledged', () => {
    // createApp directly: synthStage has already synthesized (Template.fromStack) before we could add anything.
    const context = { stage: 'dev', ...NO_BUNDLING };
    const clean = createApp({ services: [statsService], context });
    expect(() => clean.app.synth()).not.toThrow();

    const dirty = createApp({ services: [statsService], context });
    const role = new iam.Role(dirty.stack, 'Careless', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] }));
    expect(() => dirty.app.synth()).toThrow(/AwsSolutions-IAM5/);
  });

  it('acknowledges the X-Ray wildcard only on function roles, not stack-wide', () => {
    const { stack } = synthStage('dev', { services: [statsService] });
    const stray = new iam.Role(stack, 'Stray', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    stray.addToPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
    expect(unacknowledged(Stack.of(stray), 'error')).toEqual([expect.stringContaining('Stray')]);
  });
});
