import { readFileSync } from 'node:fs';
import { startLocalS3 } from '@svc/local/s3-server';
import { generateReportConsumer, planReportsJob, tasksService } from '@svc/tasks';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as generateReport } from '../../functions/tasks/generate-report.js';
import { handler as getReport } from '../../functions/tasks/get-report.js';
import { handler as getUserReport } from '../../functions/tasks/get-user-report.js';
import { handler as listReports } from '../../functions/tasks/list-reports.js';
import { handler as webhook } from '../../functions/tasks/webhook.js';
import { invoke, lambdaContext } from '../support/api-event.js';
import { startIssuer } from './support.js';

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../events/tasks/${name}.json`, import.meta.url), 'utf8')) as T;

let issuer: Awaited<ReturnType<typeof startIssuer>>;
let s3: Awaited<ReturnType<typeof startLocalS3>>;
beforeAll(async () => {
  delete process.env.PARAM_TASKS_WEBHOOK_SECRET;
  s3 = await startLocalS3({ buckets: ['task-reports-events'] });
  Object.assign(process.env, { REPORTS_BUCKET: 'task-reports-events', AWS_ENDPOINT_URL_S3: s3.endpoint });
  issuer = await startIssuer();
});
afterAll(async () => {
  await issuer.stop();
  await s3.stop();
});

describe('events/tasks samples', () => {
  const api = [
    ['webhook', webhook, 202],
    ['list-reports', listReports, 200],
    ['get-report', getReport, 404],
    ['get-user-report', getUserReport, 200],
  ] as const;

  it.each(api)('%s.json matches a route and runs through its handler', async (name, handler, status) => {
    const event = load<APIGatewayProxyEventV2>(name);
    const route = tasksService.routes.find((r) => `${r.method} ${r.path}` === event.routeKey);
    expect(route?.handler).toBe(`functions/tasks/${name}.ts`);
    if (event.headers.authorization)
      event.headers.authorization = `Bearer ${await issuer.token('tasks:read')}`;
    expect((await invoke(handler, event)).status).toBe(status);
  });

  it('generate-report.json is a valid SQS event for the report consumer', async () => {
    expect(generateReportConsumer.handler).toBe('functions/tasks/generate-report.ts');
    const result = await generateReport(load<SQSEvent>('generate-report'), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
  });

  it('plan-reports.json is an EventBridge Scheduler event for the planner', () => {
    expect(planReportsJob.handler).toBe('functions/tasks/plan-reports.ts');
    const event = load<{ source: string; resources: string[] }>('plan-reports');
    expect(event.source).toBe('aws.scheduler');
    expect(event.resources[0]).toMatch(/schedule\/default\/.*task-reports$/);
  });
});
