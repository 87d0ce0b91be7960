import { Dispatch, deliveryStatus } from '@svc/dispatch';
import { loadCallbackConfig } from '@svc/dispatch/config';
import { httpHandler } from '@svc/platform';
import { readParameter } from '@svc/platform/parameters';

const config = loadCallbackConfig();

export const handler = httpHandler(deliveryStatus, async ({ query, body }) => ({
  status: 200,
  body: await Dispatch.receiveDeliveryStatus(
    query.token,
    await readParameter(config.PARAM_DISPATCH_CALLBACK_SECRET),
    body,
  ),
}));
