import * as Dispatch from '@svc/dispatch/messages';
import { getMessage } from '@svc/dispatch/routes/get-message';
import { httpHandler } from '@svc/platform';

export const handler = httpHandler(getMessage, async ({ path }) => ({
  status: 200,
  body: await Dispatch.getMessage(path.id),
}));
