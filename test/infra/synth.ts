import { createApp, SYNTH_LOCAL_STAGE } from '@svc/infra/create-app';
import type { StageOverrides } from '@svc/infra/stage-config';
import type { ServiceDefinition } from '@svc/platform/routes';
import { Template } from 'aws-cdk-lib/assertions';

/** Skips esbuild: these tests assert the template, and one separate test bundles for real. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export interface SynthOptions {
  services: readonly ServiceDefinition[];
  overrides?: StageOverrides;
  nag?: boolean;
}

/** The stack exactly as `cdk synth -c stage=<stage>` builds it (through the same createApp), minus bundling. */
export function synthStage(stage: string, options: SynthOptions) {
  const built = createApp({
    services: options.services,
    // The flag only matters for the `local` preset, which tests synthesize but nobody deploys.
    context: { stage, ...NO_BUNDLING, [SYNTH_LOCAL_STAGE]: true },
    nag: options.nag ?? false,
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  const template = Template.fromStack(built.stack);
  return { ...built, template };
}

/** CloudFormation template JSON: untyped by nature, walked freely by the assertions. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static shape.
export type Json = any;

export type Resource = { Type: string; Properties?: Json } & Record<string, Json>;

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
    ([, r]) => r.Type === type,
  );
}

/**
 * The functions of the services, without the one CDK provides itself: the reports bucket's auto-delete
 * provider on `destroy` stages (CDK's code and runtime, not ours; it runs only when the stack is deleted).
 */
export function serviceFunctions(template: Template): [string, Resource][] {
  return resourcesOfType(template, 'AWS::Lambda::Function').filter(([id]) => !isCdkProvider(id));
}

/** The auto-delete provider's function and role (CDK names them the same on every stack). */
export const isCdkProvider = (logicalId: string) =>
  logicalId.startsWith('CustomS3AutoDeleteObjectsCustomResourceProvider');

/** Every function a service declares, whatever invokes it. */
export function declaredFunctions(service: ServiceDefinition) {
  return [
    ...service.routes,
    ...(service.defaultRoute ? [service.defaultRoute] : []),
    ...(service.consumers ?? []),
    ...(service.schedules ?? []),
  ];
}

/** AWS offers no resource scoping for these; they are the only actions allowed on Resource '*'. */
const RESOURCE_STAR_EXCEPTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);

/**
 * The wildcards a resource may end in, each only where AWS leaves no narrower ARN: the table's GSIs, the
 * objects of the one reports bucket, a function's versions, and KMS keys when SSM is the only way in.
 */
function wildcardAllowed(resource: string, statement: Json): boolean {
  if (
    /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["[A-Za-z0-9]+","Arn"\]\},"(\/index\/\*|\/\*|:\*)"\]\]\}$/.test(
      resource,
    )
  )
    return true;
  // `ssm.<region>.amazonaws.com`: a literal with a concrete env, a Fn::Join with the region token otherwise.
  const viaSsm = /"ssm\.(",\{"Ref":"AWS::Region"\},"|[a-z0-9-]+)\.amazonaws\.com"/.test(
    JSON.stringify(statement.Condition?.StringEquals?.['kms:ViaService'] ?? ''),
  );
  return resource.includes(':key/*') && viaSsm && list(statement.Action).every((a) => a === 'kms:Decrypt');
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/**
 * Statements of every IAM policy in the template that grant `*` or `service:*` actions, or reach resources
 * through a wildcard beyond what AWS requires (see `wildcardAllowed`), as readable lines.
 */
export function unscopedGrants(template: Template): string[] {
  const documents: Json[] = [
    ...resourcesOfType(template, 'AWS::IAM::Policy').map(([id, p]) => ({
      id,
      doc: p.Properties.PolicyDocument,
    })),
    ...resourcesOfType(template, 'AWS::IAM::Role').flatMap(([id, r]) =>
      (r.Properties?.Policies ?? []).map((p: Json) => ({ id, doc: p.PolicyDocument })),
    ),
  ];
  const problems: string[] = [];
  for (const { id, doc } of documents) {
    for (const statement of doc.Statement as Json[]) {
      const actions = list(statement.Action as string | string[]);
      const line = `${id}: ${JSON.stringify(actions)} on ${JSON.stringify(statement.Resource)}`;
      if (actions.some((a) => /^\*$|:\*$/.test(a))) problems.push(`wildcard action: ${line}`);
      for (const resource of list(statement.Resource as unknown)) {
        if (resource === '*') {
          if (!actions.every((a) => RESOURCE_STAR_EXCEPTIONS.has(a))) problems.push(`Resource *: ${line}`);
          continue;
        }
        const text = JSON.stringify(resource);
        if (text.includes('*') && !wildcardAllowed(text, statement))
          problems.push(`wildcard resource: ${line}`);
      }
    }
  }
  return problems;
}
