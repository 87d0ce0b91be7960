import { Assistance, loadRequestConfig, requestAssistance } from '@svc/assistance';
import { sqsEnqueue } from '@svc/assistance/queues';
import { ssmRulesSource } from '@svc/assistance/rules-source';
import { httpHandler, NotAuthenticated } from '@svc/platform';

const config = loadRequestConfig();
const deps = { rules: ssmRulesSource(config.rulesParameter), enqueue: sqsEnqueue(config.queueUrls) };

export const handler = httpHandler(requestAssistance, async ({ body, principal }) => {
  if (!principal) throw new NotAuthenticated();
  return { status: 202, body: await Assistance.requestAssistance(deps, principal.subject, body) };
});
