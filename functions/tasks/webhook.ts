import { httpHandler } from '@svc/platform';
import { readOptionalParameter } from '@svc/platform/parameters';
import { receiveWebhook, Signature, Tasks } from '@svc/tasks';
import { webhookConfig } from '@svc/tasks/config';

export const handler = httpHandler(
  receiveWebhook,
  async ({ body }) => ({
    status: 202,
    body: {
      status: 'accepted',
      ...(await Tasks.applyWebhookEvent(body, new Date(), {
        retentionDays: webhookConfig().TASK_AUDIT_RETENTION_DAYS,
      })),
    },
  }),
  {
    verifySigned: async (event) => {
      const secret = await Signature.webhookSecret(webhookConfig(), readOptionalParameter);
      if (secret) Signature.verifySignature(secret, event);
    },
  },
);
