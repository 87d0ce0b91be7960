import { visitsService } from '@svc/visits';
import { describe, expect, it } from 'vitest';
import { type Resource, resourcesOfType, synthStage } from '../infra/synth.js';

describe('visits in the CDK app', () => {
  const { template } = synthStage('dev', { services: [visitsService], nag: true });
  const functions = resourcesOfType(template, 'AWS::Lambda::Function');
  const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');

  it('deploys one function and one API route per route-table entry, the alias included', () => {
    const keys = routes.map(([, r]) => r.Properties.RouteKey).sort();
    expect(keys).toEqual(visitsService.routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(keys).toContain('PUT /api/visit/{id}/complete');
    expect(keys).toContain('POST /api/visit/{id}/transaction');
    for (const route of visitsService.routes) {
      expect(
        functions.some(([id]) => id.startsWith(route.functionName)),
        route.functionName,
      ).toBe(true);
    }
  });

  it('gives every visits function the table, the starting minutes and the token secret name', () => {
    const visitsFunctions = functions.filter(([id]) => id.startsWith('Visits'));
    expect(visitsFunctions).toHaveLength(visitsService.routes.length);
    for (const [, fn] of visitsFunctions as [string, Resource][]) {
      const env = fn.Properties.Environment.Variables;
      expect(env.STARTING_MINUTES).toBe('120');
      expect(env.PARAM_VISITS_TOKEN_SECRET).toBe('/svc/dev/visits-token-secret');
      expect(env.TABLE_NAME).toBeDefined();
    }
  });

  it('lets them read exactly that parameter', () => {
    const policies = JSON.stringify(resourcesOfType(template, 'AWS::IAM::Policy'));
    expect(policies).toContain('ssm:GetParameter');
    expect(policies).toContain('parameter/svc/dev/visits-token-secret');
  });
});
