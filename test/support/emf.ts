/**
 * Reads the CloudWatch embedded metric format (EMF) lines a handler writes to stdout, as CloudWatch would.
 * The suite keeps metrics off (global-setup sets POWERTOOLS_METRICS_DISABLED); `captureEmf()` turns them on
 * for the file that calls it (before its first flush) and keeps the lines it reads out of the test output.
 */
export interface EmittedMetric {
  namespace: string;
  name: string;
  unit: string;
  values: number[];
  /** Exactly the dimensions CloudWatch would index the metric by. */
  dimensions: Record<string, string>;
}

interface EmfLine {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

export function parseEmf(text: string): EmittedMetric[] {
  const found: EmittedMetric[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    let parsed: EmfLine;
    try {
      parsed = JSON.parse(line) as EmfLine;
    } catch {
      continue;
    }
    for (const directive of parsed._aws?.CloudWatchMetrics ?? []) {
      for (const set of directive.Dimensions.length > 0 ? directive.Dimensions : [[]]) {
        const dimensions = Object.fromEntries(set.map((d) => [d, String(parsed[d])]));
        for (const metric of directive.Metrics) {
          const value = parsed[metric.Name];
          found.push({
            namespace: directive.Namespace,
            name: metric.Name,
            unit: metric.Unit,
            values: (Array.isArray(value) ? value : [value]).map(Number),
            dimensions,
          });
        }
      }
    }
  }
  return found;
}

export interface EmfCapture {
  /** Every metric written since the capture started (or since `clear`). */
  metrics(): EmittedMetric[];
  /** The metrics called `name`, optionally only those whose dimensions include `dimensions`. */
  find(name: string, dimensions?: Record<string, string>): EmittedMetric[];
  /** The sum of every value of `name` with those dimensions. */
  sum(name: string, dimensions?: Record<string, string>): number;
  clear(): void;
  stop(): void;
}

export function captureEmf(): EmfCapture {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const original = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (s.includes('"_aws"')) {
      text += s;
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }
    return original.call(process.stdout, chunk as string, ...(rest as []));
  }) as typeof process.stdout.write;
  const matches = (m: EmittedMetric, name: string, dimensions: Record<string, string> = {}) =>
    m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v);
  const capture: EmfCapture = {
    metrics: () => parseEmf(text),
    find: (name, dimensions) => parseEmf(text).filter((m) => matches(m, name, dimensions)),
    sum: (name, dimensions) =>
      capture.find(name, dimensions).reduce((total, m) => total + m.values.reduce((a, b) => a + b, 0), 0),
    clear: () => {
      text = '';
    },
    stop: () => {
      process.stdout.write = original;
    },
  };
  return capture;
}
