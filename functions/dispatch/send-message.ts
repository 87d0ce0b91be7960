import { loadApiConfig } from '@svc/dispatch/config';
import * as Dispatch from '@svc/dispatch/messages';
import { sqsMessageQueue } from '@svc/dispatch/queue';
import { sendMessage } from '@svc/dispatch/routes/send-message';
import { httpHandler } from '@svc/platform';
import { checkCallbackUrl } from '@svc/platform/webhooks';

const config = loadApiConfig();
const queue = sqsMessageQueue(config.QUEUE_URL_DISPATCH_SEND);
const callbackPolicy = { allowLocalHttp: config.STATUS_CALLBACK_LOCAL_HTTP };

export const handler = httpHandler(sendMessage, async ({ body, principal, limits }) => ({
  status: 202,
  body: await Dispatch.submitMessage(body, {
    queue,
    createdBy: principal?.subject,
    allowedCountries: config.SMS_ALLOWED_COUNTRIES,
    limits,
    checkCallbackUrl: (url) => checkCallbackUrl(url, callbackPolicy),
  }),
}));
