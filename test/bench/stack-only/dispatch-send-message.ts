// See stats-record-session.ts: JWKS auth, and body validation incl. E.164 normalisation and segment count.
import { sendMessage } from '@svc/dispatch/routes';
import { httpHandler } from '@svc/platform';

export const handler = httpHandler(sendMessage, async () => ({ status: 202, body: {} }));
