import {
  deadLetterQueueName,
  formatProviderWeights,
  jwtEnvironment,
  parameterName,
  parameterVariable,
  physicalQueueName,
  presets,
  queueUrlVariable,
  settingsEnvironment,
  stageConfig,
  validateStageConfig,
} from '@svc/infra/stage-config';
import { describe, expect, it } from 'vitest';

describe('stage config', () => {
  it('validates every preset', () => {
    for (const preset of Object.values(presets)) expect(validateStageConfig(preset)).toEqual(preset);
  });

  it('makes prod durable and dev disposable', () => {
    expect(stageConfig('prod')).toMatchObject({
      removal: 'retain',
      pointInTimeRecovery: true,
      deletionProtection: true,
    });
    expect(stageConfig('dev')).toMatchObject({
      removal: 'destroy',
      pointInTimeRecovery: false,
      deletionProtection: false,
    });
  });

  it('runs failure paths in seconds locally (SPEC §6)', () => {
    expect(stageConfig('local')).toMatchObject({
      queues: { maxReceiveCount: 3, visibilityTimeoutSeconds: 2 },
      settings: { reportIntervalMinutes: 1, providerTimeoutMs: 1000 },
    });
  });

  it('gives any other stage name the dev settings under its own name', () => {
    const feature = stageConfig('feature-42');
    expect(feature).toEqual({ ...presets.dev, name: 'feature-42' });
  });

  it('applies section-wise overrides and still validates them', () => {
    expect(
      stageConfig('prod', { alarmEmail: 'ops@example.com', settings: { providerTimeoutMs: 500 } }),
    ).toMatchObject({
      alarmEmail: 'ops@example.com',
      settings: { providerTimeoutMs: 500, reportIntervalMinutes: 60 },
    });
    expect(() => stageConfig('dev', { alarmEmail: 'not-an-email' })).toThrow(/alarmEmail/);
  });

  it('fails loudly on a bad config, naming each field', () => {
    const bad = {
      ...presets.dev,
      logRetentionDays: 13,
      settings: { ...presets.dev.settings, provider1Url: 'nope' },
    };
    expect(() => validateStageConfig(bad)).toThrow(/logRetentionDays[\s\S]*settings\.provider1Url/);
    expect(() =>
      validateStageConfig({
        ...presets.dev,
        settings: { ...presets.dev.settings, providerWeights: { provider1: 0 } },
      }),
    ).toThrow(/providerWeights/);
    expect(() => stageConfig('dev', { settings: { smsAllowedCountries: ['usa'] } })).toThrow(
      /smsAllowedCountries/,
    );
    expect(() => stageConfig('dev', { settings: { smsAllowedCountries: [] } })).toThrow(
      /smsAllowedCountries/,
    );
    expect(() => stageConfig('Prod')).toThrow(/stage names/);
    expect(() => stageConfig('a-very-long-stage-name-for-aws')).toThrow(/stage names/);
  });
});

describe('environment contract', () => {
  it('produces the stage settings as strings, in one place', () => {
    expect(settingsEnvironment(stageConfig('local'), 'http://127.0.0.1:3000')).toEqual({
      STARTING_MINUTES: '120',
      PASSWORD_SCRYPT_LOG2N: '14',
      REPORT_INTERVAL_MINUTES: '1',
      WEBHOOK_SIGNATURE_REQUIRED: 'false',
      TASK_AUDIT_RETENTION_DAYS: '30',
      REPORT_RETENTION_DAYS: '90',
      PROVIDER1_URL: presets.local.settings.provider1Url,
      PROVIDER2_URL: presets.local.settings.provider2Url,
      PROVIDER_WEIGHTS: 'provider1:30,provider2:70',
      PROVIDER_TIMEOUT_MS: '1000',
      SMS_ALLOWED_COUNTRIES: 'US,CA',
      CALLBACK_BASE_URL: 'http://127.0.0.1:3000',
      EMAIL_FROM: presets.local.settings.emailFrom,
      SQS_MAX_RECEIVE_COUNT: '3',
      STATUS_CALLBACK_LOCAL_HTTP: 'true',
    });
    // Deployed stages accept only https callback URLs to public addresses (SPEC §0).
    expect(settingsEnvironment(stageConfig('prod'), 'https://api')).not.toHaveProperty(
      'STATUS_CALLBACK_LOCAL_HTTP',
    );
    expect(settingsEnvironment(stageConfig('dev'), 'https://api')).not.toHaveProperty(
      'STATUS_CALLBACK_LOCAL_HTTP',
    );
    expect(formatProviderWeights({ provider1: 30, provider2: 70 })).toBe('provider1:30,provider2:70');
  });

  it('names queues, parameters and their variables by convention', () => {
    expect(physicalQueueName('dev', 'dispatch-send')).toBe('svc-dev-dispatch-send');
    expect(deadLetterQueueName('dispatch-send')).toBe('dispatch-send-dlq');
    expect(queueUrlVariable('assistance-email')).toBe('QUEUE_URL_ASSISTANCE_EMAIL');
    expect(parameterVariable('tasks-webhook-secret')).toBe('PARAM_TASKS_WEBHOOK_SECRET');
    expect(parameterName('prod', 'visits-token-secret')).toBe('/svc/prod/visits-token-secret');
    expect(jwtEnvironment(stageConfig('dev'))).toEqual({
      JWT_ISSUER: presets.dev.auth.issuer,
      JWT_AUDIENCE: presets.dev.auth.audience,
      JWT_JWKS_URL: presets.dev.auth.jwksUrl,
      JWT_MAX_LIFETIME_SECONDS: '86400',
    });
  });
});
