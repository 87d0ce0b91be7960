import { verifyCallbackToken } from '@svc/dispatch/callback-token';
import { loadCallbackConfig } from '@svc/dispatch/config';
import * as Dispatch from '@svc/dispatch/messages';
import { sqsStatusCallbackQueue } from '@svc/dispatch/queue';
import { deliveryStatus } from '@svc/dispatch/routes/delivery-status';
import type { StatusCallbackQueue } from '@svc/dispatch/status-callbacks';
import { httpHandler, NotAuthenticated, ServiceUnavailable } from '@svc/platform';
import { readParameter } from '@svc/platform/parameters';

const config = loadCallbackConfig();
const secret = () => readParameter(config.PARAM_DISPATCH_CALLBACK_SECRET);
const announcements = sqsStatusCallbackQueue(config.QUEUE_URL_DISPATCH_STATUS_CALLBACKS);
// The status is stored before this fails; a 503 makes the provider retry, and the retry announces it.
const statusCallbacks: StatusCallbackQueue = {
  enqueue: (job) =>
    announcements.enqueue(job).catch((error: unknown) => {
      throw new ServiceUnavailable('The status could not be passed on; retry later.', 5, { cause: error });
    }),
};

export const handler = httpHandler(
  deliveryStatus,
  async ({ query, body }) => ({
    status: 200,
    body: await Dispatch.receiveDeliveryStatus(
      query.token,
      await secret(),
      body,
      new Date(),
      statusCallbacks,
    ),
  }),
  {
    // The token is checked before the body is parsed, so a forged callback learns nothing about the schema.
    verifySigned: async (event) => {
      if (!verifyCallbackToken(await secret(), event.queryStringParameters?.token)) {
        throw new NotAuthenticated('Missing or invalid callback token.');
      }
    },
  },
);
