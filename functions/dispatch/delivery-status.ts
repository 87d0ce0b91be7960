import { Dispatch, deliveryStatus } from '@svc/dispatch';
import { verifyCallbackToken } from '@svc/dispatch/callback-token';
import { loadCallbackConfig } from '@svc/dispatch/config';
import { httpHandler, NotAuthenticated } from '@svc/platform';
import { readParameter } from '@svc/platform/parameters';

const config = loadCallbackConfig();
const secret = () => readParameter(config.PARAM_DISPATCH_CALLBACK_SECRET);

export const handler = httpHandler(
  deliveryStatus,
  async ({ query, body }) => ({
    status: 200,
    body: await Dispatch.receiveDeliveryStatus(query.token, await secret(), body),
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
