// See stats-record-session.ts. Visits' authenticator (SSM secret, HS256 check, account lookup) is part
// of the stack: the minimal handler does the same secret read, token check and GetItem.
import { httpHandler } from '@svc/platform';
import { visitsRuntime } from '@svc/visits';
import { requestVisit } from '@svc/visits/routes';

const { authenticate } = visitsRuntime();

export const handler = httpHandler(requestVisit, async () => ({ status: 201, body: {} }), { authenticate });
