import { Dispatch, getMessage } from '@svc/dispatch';
import { httpHandler } from '@svc/platform';

export const handler = httpHandler(getMessage, async ({ path }) => ({
  status: 200,
  body: await Dispatch.getMessage(path.id),
}));
