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
    // No secret configured for the stage (setting unset, parameter absent or empty): unsigned.
    verifySigned: async (event) => {
      const name = webhookConfig().PARAM_TASKS_WEBHOOK_SECRET;
      const secret = name ? await readOptionalParameter(name) : undefined;
      if (secret) Signature.verifySignature(secret, event);
    },
  },
);
