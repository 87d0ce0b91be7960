import { createApp } from '@svc/infra/create-app';
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
    context: { stage, ...NO_BUNDLING },
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

/** Every function a service declares, whatever invokes it. */
export function declaredFunctions(service: ServiceDefinition) {
  return [...service.routes, ...(service.consumers ?? []), ...(service.schedules ?? [])];
}
