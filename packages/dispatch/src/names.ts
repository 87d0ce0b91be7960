// Queue and parameter names of the dispatch service, shared by its route modules and its route table.
export const SEND_QUEUE = 'dispatch-send';
/** Status callbacks to senders go through their own queue, so a slow receiver never holds up SMS. */
export const STATUS_CALLBACKS_QUEUE = 'dispatch-status-callbacks';
/** Logical SSM parameter (SecureString) keying `X-Signature` of status callbacks. */
export const STATUS_CALLBACK_SECRET_PARAMETER = 'dispatch-status-callback-secret';
/** Logical SSM parameter (SecureString) holding the HMAC key of callback URLs. */
export const CALLBACK_SECRET_PARAMETER = 'dispatch-callback-secret';
