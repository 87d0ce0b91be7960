import type { ServiceDefinition } from '@svc/platform/routes';
import { CfnOutput, Stack, Token } from 'aws-cdk-lib';
import type { CfnStage, HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { Platform } from './platform.js';
import { services as registry } from './services.js';

/**
 * Per-route throttles on the `$default` stage (RouteSettings), from `stage.api.routeThrottles`. A key that
 * names no route of the deployed services fails the synth (a typo would otherwise protect nothing). The
 * stage depends on those routes: CloudFormation refuses settings for a route that does not exist yet.
 */
export function applyRouteThrottles(
  platform: Platform,
  services: readonly ServiceDefinition[],
  apiRoutes: ReadonlyMap<string, HttpRoute>,
): void {
  const throttles = platform.stage.api.routeThrottles ?? {};
  const keys = Object.keys(throttles);
  if (keys.length === 0) return;
  const functionOf = new Map<string, string>(
    services.flatMap((s) => s.routes.map((r) => [`${r.method} ${r.path}`, r.functionName] as const)),
  );
  const known = new Set<string>(registry.flatMap((s) => s.routes.map((r) => `${r.method} ${r.path}`)));
  const stage = platform.httpStage.node.defaultChild as CfnStage;
  const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
  for (const key of keys) {
    if (!known.has(key) && !functionOf.has(key)) {
      throw new Error(`api.routeThrottles: "${key}" names no route (a typo would protect nothing)`);
    }
    const functionName = functionOf.get(key);
    const route = functionName ? apiRoutes.get(functionName) : undefined;
    // A stack of some services only (tests) has fewer routes to throttle.
    if (!route) continue;
    const { rateLimit, burstLimit } = throttles[key] as { rateLimit: number; burstLimit: number };
    settings[key] = { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit };
    stage.node.addDependency(route);
  }
  if (Object.keys(settings).length > 0) stage.routeSettings = settings;
}

export interface EdgeProps {
  platform: Platform;
}

/**
 * Optional front door (`stage.edge.cloudFront`): a CloudFront distribution that forwards everything to the
 * HTTP API uncached, with a WAF web ACL whose rate-based rule blocks an IP past
 * `wafRateLimitPer5Minutes` requests in any 5 minutes (or an existing ACL by `webAclArn`). A CLOUDFRONT-scope
 * ACL exists only in us-east-1, so creating one needs a stack there; elsewhere give `webAclArn`.
 */
export class EdgeProtection extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly webAcl?: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const { stage, httpApi } = props.platform;
    const { wafRateLimitPer5Minutes, webAclArn } = stage.edge;
    let aclArn = webAclArn;
    if (!aclArn && wafRateLimitPer5Minutes) {
      const region = Stack.of(this).region;
      if (!Token.isUnresolved(region) && region !== 'us-east-1') {
        throw new Error(
          `edge.wafRateLimitPer5Minutes: a CloudFront web ACL can only be created in us-east-1 (this stack is in ${region}); create it there and set edge.webAclArn`,
        );
      }
      this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
        name: `svc-${stage.name}-edge`,
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          metricName: `svc-${stage.name}-edge`,
          sampledRequestsEnabled: true,
        },
        rules: [
          {
            name: 'rate-per-ip',
            priority: 0,
            action: { block: {} },
            statement: {
              rateBasedStatement: {
                limit: wafRateLimitPer5Minutes,
                evaluationWindowSec: 300,
                aggregateKeyType: 'IP',
              },
            },
            visibilityConfig: {
              cloudWatchMetricsEnabled: true,
              metricName: `svc-${stage.name}-rate-per-ip`,
              sampledRequestsEnabled: true,
            },
          },
        ],
      });
      aclArn = this.webAcl.attrArn;
    }
    const apiDomain = `${httpApi.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `svc ${stage.name}: edge in front of the HTTP API`,
      defaultBehavior: {
        origin: new origins.HttpOrigin(apiDomain, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        }),
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        // An API: nothing is cached, every header but Host (and the query string) reaches it.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      ...(aclArn ? { webAclId: aclArn } : {}),
    });
    new CfnOutput(this, 'EdgeUrl', {
      description: 'The API behind CloudFront (and WAF when configured)',
      value: `https://${this.distribution.distributionDomainName}`,
    });
  }
}
