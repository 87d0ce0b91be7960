import { readFileSync } from 'node:fs';
import { visitsService } from '@svc/visits';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../support/api-event.js';
import { loadVisitsHandlers } from './support/handlers.js';

const kebab = (file: string) => file.replace(/^functions\/visits\//, '').replace(/\.ts$/, '');
const eventOf = (route: (typeof visitsService.routes)[number]): APIGatewayProxyEventV2 =>
  JSON.parse(
    readFileSync(new URL(`../../events/visits/${kebab(route.handler)}.json`, import.meta.url), 'utf8'),
  );

let stop: () => Promise<void>;
let bearer = '';
let visitId = '';
beforeAll(async () => {
  const { api, ssm } = await loadVisitsHandlers();
  stop = ssm.stop;
  // A real account and visit the sample events can be pointed at.
  const member = await api.register({
    email: `events-${Date.now()}@example.com`,
    password: 'correct horse battery',
    first_name: 'E',
    last_name: 'V',
  });
  bearer = `Bearer ${member.body.data.access_token}`;
});
afterAll(() => stop());

describe('events/visits', () => {
  it.each(visitsService.routes.map((r) => [r.functionName, r] as const))(
    '%s has a sample event for its own route',
    (_, route) => {
      const event = eventOf(route);
      expect(event.routeKey).toBe(`${route.method} ${route.path}`);
      expect(event.requestContext.http.method).toBe(route.method);
      if (route.auth.kind === 'service-token') expect(event.headers.authorization).toMatch(/^Bearer /);
    },
  );

  // Logging out revokes the token the others use and unregistering deletes the account, so they go last.
  const last = ['VisitsEndSession', 'VisitsUnregister'];
  const inOrder = [
    ...visitsService.routes.filter((r) => !last.includes(r.functionName)),
    ...last.flatMap((name) => visitsService.routes.filter((r) => r.functionName === name)),
  ];
  it.each(inOrder.map((r) => [r.functionName, r] as const))(
    '%s answers its sample event without a server fault',
    async (_, route) => {
      const { handler } = await import(`../../${route.handler.replace(/\.ts$/, '.js')}`);
      const event = eventOf(route);
      if (event.headers.authorization) {
        // As-is the placeholder is refused; with a real token the request goes through the whole stack.
        expect((await invoke(handler, structuredClone(event))).status).toBe(401);
        event.headers.authorization = bearer;
      }
      if (visitId && event.pathParameters?.id) event.pathParameters.id = visitId;
      const res = await invoke(handler, event);
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      if (route.functionName === 'VisitsRequestVisit') {
        expect(res.status).toBe(201);
        visitId = res.body.data.id;
      }
    },
  );
});
