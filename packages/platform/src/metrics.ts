import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';
import { traced } from './tracing.js';

/**
 * Business metrics (README "Observability"): CloudWatch embedded metric format (EMF) lines on stdout,
 * which CloudWatch turns into metrics from the function's log group (no API call, no extra latency).
 * Domain code records through the `MetricsPort` below; only this file knows Powertools. Records are
 * buffered per dimension set and written once per invocation by `flushMetrics` (the HTTP stack, the SQS
 * consumer and `withMetrics` call it), one EMF line per distinct set of dimensions.
 *
 * Every dimension is a fixed, low-cardinality name. Each distinct value makes a new CloudWatch metric (paid
 * per month), so a phone number, user id or message id as a value would be both a cost and a leak of
 * personal data: keys outside the allow-list do not type-check, and both keys and values are checked
 * again at run time (`MetricRejected`).
 */
export const METRIC_DIMENSIONS = ['service', 'provider', 'channel', 'outcome', 'route', 'limit'] as const;
export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];
/** What a caller may add; `service` is every line's own (POWERTOOLS_SERVICE_NAME). */
export type MetricDimensions = { readonly [K in Exclude<MetricDimension, 'service'>]?: string };
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'None';

/** Port: what domain code records. */
export interface MetricsPort {
  /** A number of things that happened (default 1). */
  count(name: string, dimensions?: MetricDimensions, value?: number): void;
  /** A duration in milliseconds (latencies; CloudWatch gives percentiles of these). */
  durationMs(name: string, ms: number, dimensions?: MetricDimensions): void;
  /** Anything else (seconds of lag, minutes moved, fees). */
  record(name: string, unit: MetricUnit, value: number, dimensions?: MetricDimensions): void;
}

/** A metric call that would have sent a forbidden dimension or a malformed name (a programming error). */
export class MetricRejected extends Error {
  constructor(reason: string) {
    super(`metric rejected: ${reason}`);
    this.name = 'MetricRejected';
  }
}

const NAME = /^[A-Z][A-Za-z0-9]{1,63}$/;
/** A short word (`provider1`, `delivered`, `SendMessage`): never a number, a UUID, a ULID or an email. */
const VALUE = /^[A-Za-z][A-Za-z0-9_.-]{0,39}$/;
const MANY_DIGITS = /\d.*\d.*\d.*\d/;
const ALLOWED = new Set<string>(METRIC_DIMENSIONS);
/** Distinct dimension sets one container may buffer; more means a value is not low-cardinality after all. */
const MAX_SETS = 100;

export function checkDimensions(dimensions: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(dimensions)) {
    if (!ALLOWED.has(key)) throw new MetricRejected(`dimension "${key}" is not one of ${METRIC_DIMENSIONS}`);
    if (typeof value !== 'string' || !VALUE.test(value) || MANY_DIGITS.test(value))
      throw new MetricRejected(`dimension ${key} has a value that is not a short low-cardinality word`);
  }
}

interface Pending {
  dimensions: Record<string, string>;
  values: Map<string, { unit: MetricUnit; values: number[] }>;
}

/** Records buffered until the end of the invocation. */
const pending = new Map<string, Pending>();
let powertools: PowertoolsMetrics | undefined;

function emitter(): PowertoolsMetrics {
  powertools ??= new PowertoolsMetrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Svc',
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'services',
  });
  return powertools;
}

/**
 * A rejected record is dropped and logged, never thrown: a metric must not fail (or, after a provider
 * accepted an SMS, repeat) the work it describes. Tests see the rejection through `checkMetric`.
 */
function add(name: string, unit: MetricUnit, value: number, dimensions: MetricDimensions = {}) {
  try {
    record(name, unit, value, dimensions);
  } catch (error) {
    if (!(error instanceof MetricRejected)) throw error;
    logger.error('metric dropped', { error });
  }
}

/** Throws MetricRejected for a name, value or dimensions the port refuses (what `add` drops). */
export function checkMetric(name: string, value: number, dimensions: Record<string, unknown> = {}): void {
  if (!NAME.test(name)) throw new MetricRejected(`name "${name}" is not PascalCase`);
  if (!Number.isFinite(value)) throw new MetricRejected(`${name} is not a finite number`);
  checkDimensions(dimensions);
  if ('service' in dimensions) throw new MetricRejected('service is set by the function, not per metric');
}

function record(name: string, unit: MetricUnit, value: number, dimensions: MetricDimensions) {
  checkMetric(name, value, dimensions);
  const clean = Object.fromEntries(
    Object.entries(dimensions)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const key = JSON.stringify(clean);
  let set = pending.get(key);
  if (!set) {
    if (pending.size >= MAX_SETS) throw new MetricRejected(`more than ${MAX_SETS} dimension sets`);
    set = { dimensions: clean, values: new Map() };
    pending.set(key, set);
  }
  const entry = set.values.get(name);
  if (entry && entry.unit !== unit) throw new MetricRejected(`${name} recorded in ${entry.unit} and ${unit}`);
  if (entry) entry.values.push(value);
  else set.values.set(name, { unit, values: [value] });
}

/** The port every service uses. */
export const metrics: MetricsPort = {
  count: (name, dimensions, value = 1) => add(name, 'Count', value, dimensions),
  durationMs: (name, ms, dimensions) => add(name, 'Milliseconds', ms, dimensions),
  record: (name, unit, value, dimensions) => add(name, unit, value, dimensions),
};

/** A port that records nothing (unit tests of domain code that do not look at metrics). */
export const noMetrics: MetricsPort = {
  count: () => undefined,
  durationMs: () => undefined,
  record: () => undefined,
};

/**
 * Writes what this invocation recorded (one EMF line per dimension set) and empties the buffer. Never
 * throws: losing a metric line must not fail the invocation that did the work.
 */
export function flushMetrics(): void {
  if (pending.size === 0) return;
  const sets = [...pending.values()];
  pending.clear();
  try {
    const m = emitter();
    for (const set of sets) {
      for (const [name, value] of Object.entries(set.dimensions)) m.addDimension(name, value);
      for (const [name, { unit, values }] of set.values) for (const v of values) m.addMetric(name, unit, v);
      m.publishStoredMetrics();
    }
  } catch (error) {
    logger.error('could not write metrics', { error: error as Error });
  }
}

/** Any Lambda handler, traced as `name` and flushing its metrics once when the invocation ends (returned or thrown). */
export function withMetrics<A extends unknown[], R>(handler: (...args: A) => Promise<R>, name = 'handler') {
  return async (...args: A): Promise<R> => {
    try {
      return await traced(name, () => handler(...args));
    } finally {
      flushMetrics();
    }
  };
}
