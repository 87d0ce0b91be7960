import { readFileSync } from 'node:fs';
import { services } from '@svc/infra/services';
import { describe, expect, it } from 'vitest';
import { samEnvironment, withToken } from '../../infra/bin/sam-env.js';
import { declaredFunctions, type Json, synthStage } from './synth.js';

const { template } = synthStage('dev', { services });
const json = template.toJSON() as Json;
/** What `cdk deploy --outputs-file` would write: one value per output key. */
const outputs = Object.fromEntries(Object.keys(json.Outputs).map((key) => [key, `deployed-${key}`]));

describe('pnpm sam:env', () => {
  it('resolves every variable of every function from the deployed outputs, so SAM sees no CloudFormation objects', () => {
    const { env, unresolved } = samEnvironment(json, outputs);
    expect(unresolved).toEqual([]);
    const names = services.flatMap(declaredFunctions).map((f) => f.functionName);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(names));
    for (const variables of Object.values(env))
      for (const value of Object.values(variables)) expect(typeof value).toBe('string');
    expect(env.StatsGetCourse?.TABLE_NAME).toBe('deployed-TableName');
    expect(env.StatsGetCourse?.CALLBACK_BASE_URL).toBe('deployed-ApiUrl');
    expect(env.DispatchSendMessage?.QUEUE_URL_DISPATCH_SEND).toBe('deployed-QueueUrlDispatchSend');
    expect(env.TasksGenerateReport?.REPORTS_BUCKET).toBe('deployed-ReportsBucketName');
    expect(env.StatsGetCourse?.STAGE).toBe('dev');
  });

  it('names what it cannot resolve (outputs of another stack or an older deploy)', () => {
    const { unresolved } = samEnvironment(json, {});
    expect(unresolved).toContain('StatsGetCourse.TABLE_NAME');
  });

  it('fills a sample event’s bearer placeholder with the matching kind of token', () => {
    const visits = readFileSync('events/visits/get-user.json', 'utf8');
    const jwtRoute = readFileSync('events/assistance/request-assistance.json', 'utf8');
    const filled = JSON.parse(withToken(visits, { session: 'S', jwt: 'J' }) ?? '{}');
    expect(filled.headers.authorization).toBe('Bearer S');
    expect(JSON.parse(withToken(jwtRoute, { jwt: 'J' }) ?? '{}').headers.authorization).toBe('Bearer J');
    expect(withToken(jwtRoute, { session: 'S' })).toBeUndefined();
    expect(withToken(readFileSync('events/stats/get-session.json', 'utf8'), { jwt: 'J' })).toBeUndefined();
  });
});
