import type { ServiceDefinition } from '@svc/platform/routes';
import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { OpsDashboard } from './dashboard.js';
import { applyRouteThrottles, EdgeProtection } from './edge.js';
import { Platform } from './platform.js';
import { ServiceApi } from './service-api.js';
import { SloAlarms } from './slo.js';
import type { StageConfig } from './stage-config.js';

export interface ServicesStackProps extends StackProps {
  stage: StageConfig;
  services: readonly ServiceDefinition[];
}

/** `Svc-<stage>`: one whole environment. */
export const stackName = (stage: string) => `Svc-${stage}`;

/** The platform, one ServiceApi per service and the stage's dashboard; every resource tagged with its stage and service. */
export class ServicesStack extends Stack {
  readonly platform: Platform;
  readonly serviceApis = new Map<string, ServiceApi>();
  readonly dashboard: OpsDashboard;
  /** SLO alarms on the business metrics (EMF), to the alarm topic. */
  readonly slo: SloAlarms;
  /** CloudFront (+ WAF) in front of the API when the stage turns it on (`edge.cloudFront`). */
  readonly edge?: EdgeProtection;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { stage, services } = props;
    Tags.of(this).add('stage', stage.name);
    Tags.of(this).add('service', 'platform');

    assertUniqueFunctionNames(services);
    this.platform = new Platform(this, 'Platform', { stage });
    for (const service of services) {
      this.serviceApis.set(
        service.name,
        new ServiceApi(this, pascalCase(service.name), { platform: this.platform, service }),
      );
    }
    applyRouteThrottles(
      this.platform,
      services,
      new Map([...this.serviceApis.values()].flatMap((api) => [...api.routes])),
    );
    if (stage.edge.cloudFront) this.edge = new EdgeProtection(this, 'Edge', { platform: this.platform });
    this.slo = new SloAlarms(this, 'Slo', { platform: this.platform, serviceApis: this.serviceApis });
    // Last, so it sees every function, queue and DLQ the services created.
    this.dashboard = new OpsDashboard(this, 'Dashboard', {
      platform: this.platform,
      serviceApis: this.serviceApis,
      slo: this.slo,
    });
  }
}

/** Function names become logical ids; two equal ones would silently overwrite each other in the template. */
function assertUniqueFunctionNames(services: readonly ServiceDefinition[]): void {
  const seen = new Map<string, string>();
  const defaults = services.filter((s) => s.defaultRoute).map((s) => s.name);
  if (defaults.length > 1)
    throw new Error(`only one service may own the $default route: ${defaults.join(', ')}`);
  for (const service of services) {
    const entries = [
      ...service.routes,
      ...(service.defaultRoute ? [service.defaultRoute] : []),
      ...(service.consumers ?? []),
      ...(service.schedules ?? []),
    ];
    for (const { functionName } of entries) {
      if (!/^[A-Za-z][A-Za-z0-9]{0,254}$/.test(functionName)) {
        throw new Error(
          `${service.name}: functionName "${functionName}" is not a valid CloudFormation logical id`,
        );
      }
      const owner = seen.get(functionName);
      if (owner) throw new Error(`functionName "${functionName}" is used by ${owner} and ${service.name}`);
      seen.set(functionName, service.name);
    }
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
