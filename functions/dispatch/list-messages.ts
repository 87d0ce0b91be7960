import * as Dispatch from '@svc/dispatch/messages';
import { listMessages } from '@svc/dispatch/routes/list-messages';
import { httpHandler } from '@svc/platform';

export const handler = httpHandler(listMessages, async ({ query }) => ({
  status: 200,
  body: await Dispatch.listMessages({ toNumber: query.to_number, limit: query.limit, cursor: query.cursor }),
}));
