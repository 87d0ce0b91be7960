import type { ServiceDefinition } from '@svc/platform/routes';
import { App, type AppProps, CfnParameter, Validations } from 'aws-cdk-lib';
import { acknowledgeNagFindings, nagPacks } from './nag.js';
import { ServicesStack, stackName } from './services-stack.js';
import { type StageConfig, type StageOverrides, stageConfig } from './stage-config.js';

/** Context flag that lets a stage pointing at this machine (`local`) synthesize, for tests; it never deploys. */
export const SYNTH_LOCAL_STAGE = 'synthLocalStage';

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;

/** The URLs of a stage that point at the laptop (`local`'s issuer, JWKS and fake providers). */
export function loopbackUrls(stage: StageConfig): string[] {
  const urls = [
    stage.auth.issuer,
    stage.auth.jwksUrl,
    stage.settings.provider1Url,
    stage.settings.provider2Url,
  ];
  return urls.filter((url) => LOOPBACK.test(url));
}

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

  // `-c stage=local` is the laptop preset: its tokens come from a 127.0.0.1 issuer, which in AWS would make
  // every JWT route unusable (or trust whoever answers there). `cdk synth` and `cdk deploy` run this same
  // code, so the refusal is at synth, with a flag for the tests that synthesize the preset on purpose.
  const loopback = loopbackUrls(stage);
  const synthLocal = app.node.tryGetContext(SYNTH_LOCAL_STAGE);
  if (loopback.length > 0 && synthLocal !== true && synthLocal !== 'true')
    throw new Error(
      `stage ${stage.name} points at this machine (${loopback.join(', ')}): it is for \`pnpm dev\`, not for AWS. ` +
        'Deploy dev, prod or a stage of your own; only tests synthesize it (-c synthLocalStage=true).',
    );

  const account = stage.env?.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = stage.env?.region ?? process.env.CDK_DEFAULT_REGION;
  const stack = new ServicesStack(app, stackName(stage.name), {
    stackName: stackName(stage.name),
    description: `Serverless services, stage ${stage.name}`,
    ...(account || region ? { env: { account, region } } : {}),
    stage,
    services: options.services,
  });

  if (loopback.length > 0) {
    // Synthesized with the flag: still undeployable. No value can satisfy this parameter, so CloudFormation
    // (and `cdk deploy`, which asks for it) refuses the template before it creates anything.
    new CfnParameter(stack, 'LocalStageIsNotDeployable', {
      type: 'String',
      description: `Stage ${stage.name} points at 127.0.0.1 (pnpm dev only) and cannot be deployed.`,
      minLength: 1,
      allowedPattern: '^$',
    });
    Validations.of(stack).acknowledge({
      id: 'CloudFormation-Validate::W2001',
      reason: 'The parameter exists only to make the template undeployable; nothing needs its value.',
    });
  }

  if (options.nag !== false) {
    Validations.of(app).addPlugins(...nagPacks());
  }
  acknowledgeNagFindings(stack);
  return { app, stack, stage };
}
