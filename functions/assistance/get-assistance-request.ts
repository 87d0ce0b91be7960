import { Assistance, getAssistanceRequest } from '@svc/assistance';
import { httpHandler, NotAuthenticated } from '@svc/platform';

export const handler = httpHandler(getAssistanceRequest, async ({ path, principal }) => {
  if (!principal) throw new NotAuthenticated();
  return { status: 200, body: await Assistance.getRequest(principal.subject, path.id) };
});
