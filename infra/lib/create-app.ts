import type { ServiceDefinition } from '@svc/platform/routes';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { acknowledgeNagFindings, nagPacks } from './nag.js';
import { ServicesStack, stackName } from './services-stack.js';
import { type StageOverrides, stageConfig } from './stage-config.js';

export interface CreateAppOptions {
  /** Extra context (tests: `aws:cdk:bundling-stacks: []` to skip esbuild). `stage` here or via `-c stage`. */
  context?: Record<string, unknown>;
  services: readonly ServiceDefinition[];
  overrides?: StageOverrides;
  /** Run cdk-nag during synth (default true). */
  nag?: boolean;
  outdir?: string;
}

/**
 * The whole app for one stage. `bin/app.ts` and the tests both go through here, so what the tests
 * assert is what `cdk synth` produces.
 */
export function createApp(options: CreateAppOptions) {
  const props: AppProps = {
    ...(options.context ? { context: options.context } : {}),
    ...(options.outdir ? { outdir: options.outdir } : {}),
    // Asset metadata (aws:asset:path) is what lets `sam local invoke -t cdk.out/...` find each bundle.
    postCliContext: { 'aws:cdk:enable-asset-metadata': true },
  };
  const app = new App(props);
  const stageName = String(app.node.tryGetContext('stage') ?? 'dev');
  const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;
  const stage = stageConfig(stageName, { ...(alarmEmail ? { alarmEmail } : {}), ...options.overrides });

  const account = stage.env?.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = stage.env?.region ?? process.env.CDK_DEFAULT_REGION;
  const stack = new ServicesStack(app, stackName(stage.name), {
    stackName: stackName(stage.name),
    description: `Serverless services, stage ${stage.name}`,
    ...(account || region ? { env: { account, region } } : {}),
    stage,
    services: options.services,
  });

  if (options.nag !== false) {
    Validations.of(app).addPlugins(...nagPacks());
  }
  acknowledgeNagFindings(stack);
  return { app, stack, stage };
}
