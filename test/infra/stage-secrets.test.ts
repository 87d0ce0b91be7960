import { DEFAULT_ROUTING_RULES } from '@svc/assistance/rules';
import { type RunningSsm, startLocalSsm } from '@svc/local/ssm-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCli, stageParameters, stageSecrets } from '../../infra/bin/stage-secrets.js';
import { fixtureService } from './fixtures/service.js';

const NAMES = [
  'visits-token-secret',
  'tasks-webhook-secret',
  'assistance-routing-rules',
  'assistance-slack-webhook-url',
  'dispatch-callback-secret',
  'dispatch-status-callback-secret',
];
const full = (name: string) => `/svc/qa/${name}`;
const HEX_32_BYTES = /^[0-9a-f]{64}$/;
const SLACK = 'https://hooks.slack.com/services/T0/B0/xyz';

/** Values for every parameter through the environment, as CI would pass them. */
const ALL_VALUES = {
  SVC_SECRET_VISITS_TOKEN_SECRET: 'v'.repeat(64),
  SVC_SECRET_TASKS_WEBHOOK_SECRET: 't'.repeat(64),
  SVC_SECRET_ASSISTANCE_ROUTING_RULES: JSON.stringify({ rules: [{ topic: '*', channel: 'slack' }] }),
  SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL: SLACK,
  SVC_SECRET_DISPATCH_CALLBACK_SECRET: 'd'.repeat(64),
  SVC_SECRET_DISPATCH_STATUS_CALLBACK_SECRET: 's'.repeat(64),
};

let ssm: RunningSsm;
const lines: string[] = [];
const run = (options: Partial<Parameters<typeof stageSecrets>[0]>) =>
  stageSecrets({ stage: 'qa', interactive: false, log: (l) => lines.push(l), env: {}, ...options });

beforeAll(async () => {
  ssm = await startLocalSsm();
});
afterAll(async () => {
  await ssm.stop();
});
beforeEach(() => {
  // The default client, configured only through the environment, like the CLI against AWS.
  vi.stubEnv('AWS_ENDPOINT_URL_SSM', ssm.endpoint);
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  vi.stubEnv('AWS_PROFILE', undefined);
  ssm.parameters.clear();
  lines.length = 0;
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('stage parameters', () => {
  it('are every access.parameters name of the registry, once each, under /svc/<stage>/', () => {
    const parameters = stageParameters('qa');
    expect(parameters.map((p) => p.logicalName).sort()).toEqual([...NAMES].sort());
    expect(parameters.map((p) => p.name).sort()).toEqual(NAMES.map(full).sort());
    const rules = parameters.find((p) => p.logicalName === 'assistance-routing-rules');
    expect(rules).toMatchObject({ type: 'String', envVar: 'SVC_SECRET_ASSISTANCE_ROUTING_RULES' });
    expect(parameters.filter((p) => p.type === 'SecureString')).toHaveLength(NAMES.length - 1);
  });

  it('follow the route tables they are given', () => {
    expect(stageParameters('qa', [fixtureService]).map((p) => p.name)).toEqual([
      '/svc/qa/fixture-webhook-secret',
    ]);
  });
});

describe('pnpm stage:secrets', () => {
  it('creates every parameter from SVC_SECRET_* with its type', async () => {
    const result = await run({ env: ALL_VALUES });
    expect(result.created.sort()).toEqual(NAMES.map(full).sort());
    expect(result.skipped).toEqual([]);
    expect(ssm.parameters.get(full('assistance-slack-webhook-url'))).toMatchObject({
      value: SLACK,
      type: 'SecureString',
    });
    expect(ssm.parameters.get(full('assistance-routing-rules'))).toMatchObject({
      value: ALL_VALUES.SVC_SECRET_ASSISTANCE_ROUTING_RULES,
      type: 'String',
    });
    expect(ssm.parameters.get(full('visits-token-secret'))).toMatchObject({
      value: 'v'.repeat(64),
      type: 'SecureString',
      version: 1,
    });
    expect(lines.join('\n')).not.toContain('v'.repeat(64)); // values are never printed
  });

  it('generates *-secret values and uses the default rules for empty values', async () => {
    const empty = {
      SVC_SECRET_VISITS_TOKEN_SECRET: '',
      SVC_SECRET_TASKS_WEBHOOK_SECRET: '',
      SVC_SECRET_DISPATCH_CALLBACK_SECRET: '',
      SVC_SECRET_DISPATCH_STATUS_CALLBACK_SECRET: '',
      SVC_SECRET_ASSISTANCE_ROUTING_RULES: '',
    };
    const result = await run({ env: { ...empty, SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL: SLACK } });
    expect(result.created).toHaveLength(NAMES.length);
    const secrets = [
      'visits-token-secret',
      'tasks-webhook-secret',
      'dispatch-callback-secret',
      'dispatch-status-callback-secret',
    ];
    const values = secrets.map((n) => ssm.parameters.get(full(n))?.value);
    for (const value of values) expect(value).toMatch(HEX_32_BYTES);
    expect(new Set(values).size).toBe(4);
    expect(JSON.parse(ssm.parameters.get(full('assistance-routing-rules'))?.value ?? '')).toEqual(
      DEFAULT_ROUTING_RULES,
    );
  });

  it('skips parameters that exist without --overwrite', async () => {
    ssm.put(full('visits-token-secret'), 'keep-me');
    const result = await run({ env: ALL_VALUES });
    expect(result.skipped).toEqual([full('visits-token-secret')]);
    expect(result.created).toHaveLength(NAMES.length - 1);
    expect(ssm.parameters.get(full('visits-token-secret'))).toMatchObject({ value: 'keep-me', version: 1 });
    expect(lines).toContainEqual(expect.stringMatching(/skip.*visits-token-secret.*--overwrite/));
  });

  it('does not ask for the value of a parameter it skips', async () => {
    for (const name of NAMES) ssm.put(full(name), 'old');
    const result = await run({ env: {} });
    expect(result.skipped).toHaveLength(NAMES.length);
  });

  it('replaces existing parameters with --overwrite', async () => {
    for (const name of NAMES) ssm.put(full(name), 'old', 'String');
    const result = await run({ env: ALL_VALUES, overwrite: true });
    expect(result.overwritten.sort()).toEqual(NAMES.map(full).sort());
    expect(result.created).toEqual([]);
    expect(ssm.parameters.get(full('dispatch-callback-secret'))).toMatchObject({
      value: 'd'.repeat(64),
      type: 'SecureString',
      version: 2,
    });
  });

  it('without a terminal and without a value, fails listing what is missing and writes nothing', async () => {
    const env = { ...ALL_VALUES } as Record<string, string | undefined>;
    delete env.SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL;
    delete env.SVC_SECRET_TASKS_WEBHOOK_SECRET;
    const failure = run({ env });
    await expect(failure).rejects.toThrow(/stdin is not a terminal/);
    await expect(failure).rejects.toThrow(
      /SVC_SECRET_TASKS_WEBHOOK_SECRET {2}\(\/svc\/qa\/tasks-webhook-secret, SecureString\)/,
    );
    await expect(failure).rejects.toThrow(/SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL/);
    await expect(failure).rejects.not.toThrow(/SVC_SECRET_VISITS_TOKEN_SECRET/);
    expect(ssm.parameters.size).toBe(0);
  });

  it('fails on an empty value that has no fallback', async () => {
    await expect(
      run({ env: { ...ALL_VALUES, SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL: ' ' } }),
    ).rejects.toThrow(/SVC_SECRET_ASSISTANCE_SLACK_WEBHOOK_URL/);
    expect(ssm.parameters.size).toBe(0);
  });

  it('rejects routing rules the assistance service could not use', async () => {
    const env = { ...ALL_VALUES, SVC_SECRET_ASSISTANCE_ROUTING_RULES: '{"rules": [{"topic": "x"}]}' };
    await expect(run({ env })).rejects.toThrow(/assistance-routing-rules.*Invalid routing rules/);
    expect(ssm.parameters.size).toBe(0);
  });

  it('asks on a terminal for what the environment does not give, hiding SecureStrings', async () => {
    const asked: [string, boolean][] = [];
    const prompt = async (question: string, hidden: boolean) => {
      asked.push([question, hidden]);
      return question.includes('slack-webhook-url') ? SLACK : '';
    };
    await run({ env: { SVC_SECRET_VISITS_TOKEN_SECRET: 'v'.repeat(64) }, interactive: true, prompt });
    expect(asked.map(([q]) => q.split(' ')[0]).sort()).toEqual(
      NAMES.filter((n) => n !== 'visits-token-secret')
        .map(full)
        .sort(),
    );
    expect(asked.find(([q]) => q.includes('routing-rules'))?.[1]).toBe(false);
    expect(asked.find(([q]) => q.includes('callback-secret'))?.[1]).toBe(true);
    expect(ssm.parameters.get(full('visits-token-secret'))?.value).toBe('v'.repeat(64));
    expect(ssm.parameters.get(full('dispatch-callback-secret'))?.value).toMatch(HEX_32_BYTES);
    expect(ssm.parameters.get(full('assistance-slack-webhook-url'))?.value).toBe(SLACK);
  });

  it('rejects a stage name no stack could have before calling SSM', async () => {
    const before = ssm.calls;
    await expect(run({ stage: 'Bad_Stage', env: ALL_VALUES })).rejects.toThrow(/stage names/);
    expect(ssm.calls).toBe(before);
  });
});

describe('command line', () => {
  it('takes a stage and --overwrite', () => {
    expect(parseCli(['prod'])).toEqual({ stage: 'prod', overwrite: false });
    expect(parseCli(['prod', '--overwrite'])).toEqual({ stage: 'prod', overwrite: true });
    expect(() => parseCli([])).toThrow(/usage: pnpm stage:secrets <stage>/);
    expect(() => parseCli(['a', 'b'])).toThrow(/usage/);
    expect(() => parseCli(['prod', '--force'])).toThrow(/usage/);
  });
});
