// See stats-record-session.ts: the route's stack around a no-op implementation.
import { httpHandler } from '@svc/platform';
import { getCourseStats } from '@svc/stats/routes';

export const handler = httpHandler(getCourseStats, async () => ({ status: 200, body: {} }));
