// The route's real HTTP stack (request id, auth, JSON body, validation, logging, response) around an
// implementation that does nothing: what the shared middleware costs on its own, without the domain.
import { httpHandler } from '@svc/platform';
import { recordSession } from '@svc/stats/routes';

export const handler = httpHandler(recordSession, async () => ({ status: 201, body: {} }));
