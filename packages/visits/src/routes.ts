import { defineRoute, type ServiceDefinition } from '@svc/platform';
import { ErrorBody } from '@svc/platform/openapi-shapes';
import {
  Completion,
  data,
  PageQuery,
  page,
  RegistrationInput,
  SessionInput,
  Token,
  Transaction,
  User,
  Visit,
  VisitInput,
  VisitListQuery,
  VisitPath,
} from './schemas.js';

/** Every visits function reads the token secret: to sign (registration, session) or to verify. */
const SECRET = ['visits-token-secret'] as const;
const session = { kind: 'service-token' } as const;

export const register = defineRoute({
  method: 'POST',
  path: '/api/auth/registration',
  functionName: 'VisitsRegister',
  handler: 'functions/visits/register.ts',
  summary: 'Create an account (email + password) and get a session token',
  auth: { kind: 'public' },
  request: { body: RegistrationInput },
  responses: {
    201: data(Token),
    400: ErrorBody,
    409: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
    429: ErrorBody,
  },
  access: { table: 'write', parameters: SECRET },
  limits: [{ setting: 'registrationsPerIp', per: 'source-ip' }],
});

export const startSession = defineRoute({
  method: 'POST',
  path: '/api/auth/session',
  functionName: 'VisitsStartSession',
  handler: 'functions/visits/start-session.ts',
  summary: 'Log in with email and password and get a session token',
  auth: { kind: 'public' },
  request: { body: SessionInput },
  responses: {
    200: data(Token),
    400: ErrorBody,
    401: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
    429: ErrorBody,
  },
  // Writes: the failed-login counters (limiter items under `$visits#ratelimit#`), and a login rehashes a
  // password stored at a cost below the stage's (passwords.ts).
  access: { table: 'write', parameters: SECRET },
  limits: [
    { setting: 'loginFailuresPerIp', per: 'custom' },
    { setting: 'loginFailuresPerEmail', per: 'custom' },
  ],
});

export const endSession = defineRoute({
  method: 'DELETE',
  path: '/api/auth/session',
  functionName: 'VisitsEndSession',
  handler: 'functions/visits/end-session.ts',
  summary: 'Log out: revoke the token this request carries (the account’s other tokens stay valid)',
  auth: session,
  request: {},
  responses: { 204: null, 401: ErrorBody },
  access: { table: 'write', parameters: SECRET },
});

export const unregister = defineRoute({
  method: 'DELETE',
  path: '/api/auth/registration',
  functionName: 'VisitsUnregister',
  handler: 'functions/visits/unregister.ts',
  summary: "Delete the caller's account, cancelling its still-requested visits",
  auth: session,
  request: {},
  responses: { 204: null, 401: ErrorBody, 503: ErrorBody },
  access: { table: 'write', parameters: SECRET },
  timeoutSeconds: 25,
});

export const getUser = defineRoute({
  method: 'GET',
  path: '/api/user',
  functionName: 'VisitsGetUser',
  handler: 'functions/visits/get-user.ts',
  summary: 'The caller with their minutes balance',
  auth: session,
  request: {},
  responses: { 200: data(User), 401: ErrorBody },
  access: { table: 'read', parameters: SECRET },
});

export const requestVisit = defineRoute({
  method: 'POST',
  path: '/api/visit',
  functionName: 'VisitsRequestVisit',
  handler: 'functions/visits/request-visit.ts',
  summary: 'Request a visit, reserving its minutes from the caller’s balance',
  auth: session,
  idempotent: true,
  request: { body: VisitInput },
  responses: {
    201: data(Visit),
    400: ErrorBody,
    401: ErrorBody,
    409: ErrorBody,
    415: ErrorBody,
    422: ErrorBody,
  },
  access: { table: 'write', parameters: SECRET },
});

export const listVisits = defineRoute({
  method: 'GET',
  path: '/api/visit',
  functionName: 'VisitsListVisits',
  handler: 'functions/visits/list-visits.ts',
  summary: 'Visits soonest first, filtered by status and/or member',
  auth: session,
  request: { query: VisitListQuery },
  responses: { 200: page(Visit), 400: ErrorBody, 401: ErrorBody },
  access: { table: 'read', parameters: SECRET },
});

export const getVisit = defineRoute({
  method: 'GET',
  path: '/api/visit/{id}',
  functionName: 'VisitsGetVisit',
  handler: 'functions/visits/get-visit.ts',
  summary: 'One visit',
  auth: session,
  request: { path: VisitPath },
  responses: { 200: data(Visit), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
  access: { table: 'read', parameters: SECRET },
});

export const cancelVisit = defineRoute({
  method: 'DELETE',
  path: '/api/visit/{id}',
  functionName: 'VisitsCancelVisit',
  handler: 'functions/visits/cancel-visit.ts',
  summary: 'Cancel one of the caller’s requested visits, releasing its reservation',
  auth: session,
  request: { path: VisitPath },
  responses: {
    200: data(Visit),
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    404: ErrorBody,
    409: ErrorBody,
  },
  access: { table: 'write', parameters: SECRET },
});

const completionResponses = {
  200: data(Completion),
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  503: ErrorBody,
};

export const completeVisit = defineRoute({
  method: 'PUT',
  path: '/api/visit/{id}/complete',
  functionName: 'VisitsCompleteVisit',
  handler: 'functions/visits/complete-visit.ts',
  summary: 'The caller (the pal) completes a requested visit: member debited, pal credited less the fee',
  auth: session,
  bodyless: true,
  request: { path: VisitPath },
  responses: completionResponses,
  access: { table: 'write', parameters: SECRET },
});

/** The same operation under the name that says what it creates (the seed's own preferred route). */
export const recordTransaction = defineRoute({
  method: 'POST',
  path: '/api/visit/{id}/transaction',
  functionName: 'VisitsRecordTransaction',
  handler: 'functions/visits/record-transaction.ts',
  summary: 'Alias of PUT /api/visit/{id}/complete',
  auth: session,
  bodyless: true,
  idempotent: true,
  request: { path: VisitPath },
  responses: completionResponses,
  access: { table: 'write', parameters: SECRET },
});

export const listTransactions = defineRoute({
  method: 'GET',
  path: '/api/transactions',
  functionName: 'VisitsListTransactions',
  handler: 'functions/visits/list-transactions.ts',
  summary: "The caller's transactions as member or pal, newest first",
  auth: session,
  request: { query: PageQuery },
  responses: { 200: page(Transaction), 400: ErrorBody, 401: ErrorBody },
  access: { table: 'read', parameters: SECRET },
});

export const visitsService: ServiceDefinition = {
  name: 'visits',
  routes: [
    register,
    startSession,
    endSession,
    unregister,
    getUser,
    requestVisit,
    listVisits,
    getVisit,
    cancelVisit,
    completeVisit,
    recordTransaction,
    listTransactions,
  ],
};
