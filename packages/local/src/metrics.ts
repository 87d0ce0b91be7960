/**
 * The local stand-in for CloudWatch's reading of embedded metric format (EMF) lines: every line a function
 * writes still goes to its log output (as in AWS), and an EMF line is also added up here, so a developer
 * sees the business metrics during `pnpm dev` at `GET /__local/metrics` (`DELETE` starts again).
 */
export interface LocalMetric {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  /** Values recorded (a Count of 3 recorded once is one sample with sum 3). */
  samples: number;
  sum: number;
  min: number;
  max: number;
  /** Functions whose output carried it. */
  functions: string[];
}

interface EmfDirective {
  Namespace?: unknown;
  Dimensions?: unknown;
  Metrics?: unknown;
}

export class LocalMetrics {
  private readonly byKey = new Map<string, LocalMetric>();
  /** EMF lines read so far (a test can wait for a count to grow). */
  lines = 0;

  /** Reads one line of a function's output; anything that is not an EMF line is ignored. */
  observe(functionName: string, line: string): void {
    if (!line.includes('"_aws"')) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const aws = parsed._aws as { CloudWatchMetrics?: unknown } | undefined;
    if (!aws || !Array.isArray(aws.CloudWatchMetrics)) return;
    this.lines++;
    for (const directive of aws.CloudWatchMetrics as EmfDirective[]) {
      const namespace = String(directive.Namespace ?? '');
      const sets = Array.isArray(directive.Dimensions) ? (directive.Dimensions as unknown[]) : [];
      const metrics = Array.isArray(directive.Metrics) ? (directive.Metrics as unknown[]) : [];
      for (const set of sets.length > 0 ? sets : [[]]) {
        const names = Array.isArray(set) ? set.map(String) : [];
        const dimensions = Object.fromEntries(names.map((d) => [d, String(parsed[d])]));
        for (const metric of metrics) {
          const { Name, Unit } = (metric ?? {}) as { Name?: unknown; Unit?: unknown };
          if (typeof Name !== 'string') continue;
          const raw = parsed[Name];
          const values = (Array.isArray(raw) ? raw : [raw]).map(Number).filter(Number.isFinite);
          if (values.length === 0) continue;
          this.add(functionName, namespace, Name, String(Unit ?? 'None'), dimensions, values);
        }
      }
    }
  }

  private add(
    functionName: string,
    namespace: string,
    name: string,
    unit: string,
    dimensions: Record<string, string>,
    values: number[],
  ) {
    const sorted = Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify([namespace, name, sorted]);
    let metric = this.byKey.get(key);
    if (!metric) {
      metric = {
        namespace,
        name,
        unit,
        dimensions: sorted,
        samples: 0,
        sum: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        functions: [],
      };
      this.byKey.set(key, metric);
    }
    for (const value of values) {
      metric.samples++;
      metric.sum += value;
      metric.min = Math.min(metric.min, value);
      metric.max = Math.max(metric.max, value);
    }
    if (!metric.functions.includes(functionName)) metric.functions.push(functionName);
  }

  /** Every metric so far, by name then dimensions. */
  snapshot(): { lines: number; metrics: LocalMetric[] } {
    const metrics = [...this.byKey.values()]
      .map((m) => ({ ...m, functions: [...m.functions].sort() }))
      .sort(
        (a, b) =>
          a.name.localeCompare(b.name) ||
          JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)),
      );
    return { lines: this.lines, metrics };
  }

  reset(): void {
    this.byKey.clear();
    this.lines = 0;
  }
}
