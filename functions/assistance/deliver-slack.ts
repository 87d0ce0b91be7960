import { channelConsumer, loadDeliveryConfig, loadSlackConfig } from '@svc/assistance';
import { slack, slackSender } from '@svc/assistance/channels/slack';
import { readParameter } from '@svc/platform/parameters';

const { PARAM_ASSISTANCE_SLACK_WEBHOOK_URL: webhookParameter } = loadSlackConfig();
const sender = slackSender({ webhookUrl: () => readParameter(webhookParameter, 60) });

/** SQS consumer of assistance-slack. */
export const handler = channelConsumer(slack, sender, loadDeliveryConfig());
