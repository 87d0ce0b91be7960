import type * as v from 'valibot';
import { idempotencyKeyPrefix, serviceKeyPrefix } from './table.js';

/**
 * Route tables are the single source of truth for every HTTP endpoint: the CDK app creates one
 * function and one API route per entry, the local gateway serves them, and the OpenAPI document is
 * generated from them. Handler files import their own entry to get the schemas.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type RouteAuth =
  /** No credentials (callers identify themselves another way, e.g. stats' X-User-Id). */
  | { kind: 'public' }
  /** Bearer JWT from the stage's issuer, verified against its JWKS; all listed scopes required. */
  | { kind: 'jwt'; scopes: readonly string[] }
  /** A token the service issues itself (visits' HS256 session tokens); the handler supplies the verifier. */
  | { kind: 'service-token' }
  /** A signature or token the caller proves in the request itself (webhooks, provider callbacks). */
  | { kind: 'signed' };

/** What a function touches, so infrastructure grants exactly that (least privilege). */
export interface Access {
  /**
   * read: GetItem, BatchGetItem, Query; write adds PutItem, UpdateItem, DeleteItem, BatchWriteItem and
   * ConditionCheckItem (transactions). Never Scan. Only items whose partition key (in the table or an index)
   * starts with one of `tableKeyPrefixes` (its service's `$<service>#`, its own idempotency records, and
   * `tableKeys`).
   */
  table?: 'read' | 'write';
  /**
   * Partition-key prefixes the function needs beyond its own service's, e.g. a shared rate-limit prefix
   * (`$rate#login#`): one declaration here and both IAM and the local check allow it.
   */
  tableKeys?: readonly string[];
  /** Logical queue names the function sends to. */
  sendsTo?: readonly string[];
  /** Logical SSM parameter names the function reads. */
  parameters?: readonly string[];
  /** Other capabilities: sending email, reading/writing the reports bucket. */
  ses?: boolean;
  bucket?: 'read' | 'write';
}

/**
 * A stage limit (SPEC §0 "Abuse limits") a route counts against. `setting` names the stage config's
 * `limits` entry. The HTTP stack takes `source-ip` and `subject` limits itself, after validation and before
 * the implementation; `custom` limits are keyed by the domain (an email, a destination number, the stage) and
 * taken through `request.limits` where the route's own rules say (e.g. after suppression).
 */
export interface RouteLimit {
  setting: string;
  per: 'source-ip' | 'subject' | 'custom';
}

type AnySchema = v.GenericSchema;

/** Response headers the API document knows how to describe (components.headers). */
export type ResponseHeader = 'Location' | 'Cache-Control' | 'Retry-After' | 'Allow';

export interface RequestSchemas {
  path?: AnySchema;
  query?: AnySchema;
  headers?: AnySchema;
  body?: AnySchema;
}

export interface HttpRoute<R extends RequestSchemas = RequestSchemas> {
  method: HttpMethod;
  /** API Gateway syntax: `/courses/{courseId}`. */
  path: string;
  /** Stable PascalCase id: the CDK construct id (and so the `sam local invoke` id prefix) and the local name. */
  functionName: string;
  /** Repo-relative handler file exporting `handler`. */
  handler: string;
  summary: string;
  auth: RouteAuth;
  /** Honour the Idempotency-Key header (SPEC §0) for this POST. */
  idempotent?: boolean;
  /** A POST/PUT that takes no body on purpose (e.g. `PUT /api/visit/{id}/complete`). */
  bodyless?: boolean;
  request: R;
  /**
   * Response body schema per status, for the API document. `null` means no body. Statuses the shared
   * stack answers by itself (400/415/422 for bad input, 401/403 for auth, 429, 503) are added by the
   * document generator (packages/platform/src/openapi.ts), so a table lists what the domain answers.
   */
  responses: Record<number, AnySchema | null>;
  /**
   * Headers a response of this route sends beyond the ones every response of that status carries
   * (`x-request-id` always, `Retry-After` on 429/503, `Location` on 3xx, `Allow` on 405), for the document.
   */
  responseHeaders?: Partial<Record<number, readonly ResponseHeader[]>>;
  access: Access;
  /** Abuse limits this route counts against (their settings reach only this function). */
  limits?: readonly RouteLimit[];
  /** Lambda timeout override (seconds). */
  timeoutSeconds?: number;
}

export function defineRoute<const R extends RequestSchemas>(route: HttpRoute<R>): HttpRoute<R> {
  return route;
}

/** A Lambda fed by an SQS queue. */
export interface QueueConsumer {
  functionName: string;
  handler: string;
  summary: string;
  /** Logical queue name (e.g. `dispatch-send`); the DLQ is `<name>-dlq`. */
  queue: string;
  batchSize: number;
  /** Receives before a message moves to the DLQ (stage setting overrides locally). */
  maxReceiveCount?: number;
  timeoutSeconds?: number;
  access: Access;
}

/** A Lambda run by EventBridge Scheduler. */
export interface ScheduledJob {
  functionName: string;
  handler: string;
  summary: string;
  /** Schedule name (local: `POST /__local/schedules/{name}/run`). */
  schedule: string;
  timeoutSeconds?: number;
  access: Access;
}

/** The HTTP API's `$default` route: a request no METHOD path of any service matches. At most one in the registry. */
export interface DefaultRoute {
  functionName: string;
  handler: string;
  summary: string;
  timeoutSeconds?: number;
  access: Access;
}

/** Everything one service deploys. */
export interface ServiceDefinition {
  name: string;
  routes: readonly HttpRoute[];
  defaultRoute?: DefaultRoute;
  consumers?: readonly QueueConsumer[];
  schedules?: readonly ScheduledJob[];
  /** Logical queue names the service owns. */
  queues?: readonly string[];
}

/**
 * Every partition-key prefix a function may touch: its service's ElectroDB prefix, its own Idempotency-Key
 * records when the route honours the header, and whatever `access.tableKeys` adds. IAM grants exactly these
 * (`dynamodb:LeadingKeys`), so the public stats functions cannot read visits' password hashes.
 */
export function tableKeyPrefixes(
  service: string,
  entry: { functionName: string; access: Access; idempotent?: boolean },
): string[] {
  if (!entry.access.table) return [];
  const prefixes = [serviceKeyPrefix(service)];
  if (entry.idempotent) prefixes.push(idempotencyKeyPrefix(entry.functionName));
  prefixes.push(...(entry.access.tableKeys ?? []));
  return [...new Set(prefixes)];
}
