import { statsService } from '@svc/stats/routes';
import { visitsService } from '@svc/visits/routes';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { presets } from '../../infra/lib/stage-config.js';
import { type Json, resourcesOfType, synthStage } from './synth.js';

const stageOf = (template: ReturnType<typeof synthStage>['template']) => {
  const stages = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage');
  expect(stages).toHaveLength(1);
  return stages[0] as [string, Json];
};

// Synthesised once at import: the first synth of a run is slow (esbuild-free, but still the whole CDK tree).
const prodVisits = synthStage('prod', {
  services: [visitsService],
  overrides: { alarmEmail: 'ops@example.com' },
});

describe('edge protection: per-route throttles', () => {
  it('throttles login and registration on the $default stage, after their routes exist', () => {
    const { template } = prodVisits;
    const [, stage] = stageOf(template);
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: presets.prod.api.throttlingRateLimit,
      ThrottlingBurstLimit: presets.prod.api.throttlingBurstLimit,
    });
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /api/auth/session': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'POST /api/auth/registration': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
    const routeIds = resourcesOfType(template, 'AWS::ApiGatewayV2::Route')
      .filter(([, r]) =>
        ['POST /api/auth/session', 'POST /api/auth/registration'].includes(r.Properties.RouteKey),
      )
      .map(([id]) => id);
    expect(routeIds).toHaveLength(2);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('skips routes of services the stack does not deploy, and refuses a key that names no route', () => {
    const { template } = synthStage('dev', { services: [statsService] });
    expect(stageOf(template)[1].Properties.RouteSettings).toBeUndefined();
    expect(() =>
      synthStage('dev', {
        services: [visitsService],
        overrides: { api: { routeThrottles: { 'POST /api/auth/sesion': { rateLimit: 1, burstLimit: 1 } } } },
      }),
    ).toThrow(/POST \/api\/auth\/sesion.*names no route/);
  });
});

describe('edge protection: CloudFront + WAF', () => {
  it('is off by default: no distribution, no web ACL', () => {
    const { template } = synthStage('prod', {
      services: [statsService],
      overrides: { alarmEmail: 'ops@example.com' },
    });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('puts an uncached distribution with a per-IP rate-based WAF rule in front of the API when enabled', () => {
    const { template } = synthStage('dev', {
      services: [statsService],
      overrides: { env: { region: 'us-east-1' }, edge: { cloudFront: true, wafRateLimitPer5Minutes: 2000 } },
    });
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Action: { Block: {} },
          Statement: {
            RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
          },
        }),
      ],
    });
    const [[aclId]] = resourcesOfType(template, 'AWS::WAFv2::WebACL') as [[string, Json]];
    const [[, distribution]] = resourcesOfType(template, 'AWS::CloudFront::Distribution') as [[string, Json]];
    const config = distribution.Properties.DistributionConfig;
    expect(config.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    expect(JSON.stringify(config.Origins[0].DomainName)).toContain('.execute-api.');
    expect(config.DefaultCacheBehavior).toMatchObject({
      AllowedMethods: expect.arrayContaining(['POST', 'DELETE', 'PUT', 'PATCH']),
      ViewerProtocolPolicy: 'https-only',
      // AWS managed CachingDisabled and AllViewerExceptHostHeader.
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    });
  });

  it('needs us-east-1 to create the web ACL, or attaches an existing one from anywhere', () => {
    expect(() =>
      synthStage('dev', {
        services: [statsService],
        overrides: {
          env: { region: 'eu-west-1' },
          edge: { cloudFront: true, wafRateLimitPer5Minutes: 2000 },
        },
      }),
    ).toThrow(/us-east-1/);
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0a1b2c3d';
    const { template } = synthStage('dev', {
      services: [statsService],
      overrides: { env: { region: 'eu-west-1' }, edge: { cloudFront: true, webAclArn: arn } },
    });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ WebACLId: arn }),
    });
  });
});
