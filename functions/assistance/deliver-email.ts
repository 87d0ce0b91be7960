import { channelConsumer, loadDeliveryConfig, loadEmailConfig } from '@svc/assistance';
import { email, emailSender } from '@svc/assistance/channels/email';

const { EMAIL_FROM: from } = loadEmailConfig();

/** SQS consumer of assistance-email. */
export const handler = channelConsumer(email, emailSender({ from }), loadDeliveryConfig());
