// The metric names a scenario can gate on and reports show (camelCase, unit in the name). One list, so the scenario
// schema, the gates and the CSV columns agree. Definitions: docs/metrics.md.

export const LATENCY_FAMILIES = ['ttft', 'itl', 'tpot', 'e2e'] as const;
export type LatencyFamily = (typeof LATENCY_FAMILIES)[number];
export const LATENCY_STATS = ['Mean', 'P50', 'P90', 'P95', 'P99'] as const;
export type LatencyStat = (typeof LATENCY_STATS)[number];

export const RATE_METRICS = [
  'requestPerS',
  'outputTokPerS',
  'inputTokPerS',
  'totalTokPerS',
  'goodputPerS',
  'goodputFraction',
  'specAcceptance',
  'errorRate',
] as const;

export type RateMetric = (typeof RATE_METRICS)[number];
export type LatencyMetric = `${LatencyFamily}${LatencyStat}Ms`;
export type MetricName = RateMetric | LatencyMetric;

export const LATENCY_METRICS: LatencyMetric[] = LATENCY_FAMILIES.flatMap((f) =>
  LATENCY_STATS.map((s) => `${f}${s}Ms` as LatencyMetric),
);
export const METRIC_NAMES: MetricName[] = [...RATE_METRICS, ...LATENCY_METRICS];

/** Which way is better; a gate's allowed change is measured in the "worse" direction. */
export function metricDirection(name: MetricName): 'higher' | 'lower' {
  if (name === 'errorRate') return 'lower';
  return (RATE_METRICS as readonly string[]).includes(name) ? 'higher' : 'lower';
}

/** Splits `ttftP99Ms` into its family and statistic; undefined for rate metrics. */
export function parseLatencyMetric(name: MetricName): { family: LatencyFamily; stat: LatencyStat } | undefined {
  const m = /^(ttft|itl|tpot|e2e)(Mean|P50|P90|P95|P99)Ms$/.exec(name);
  if (!m) return undefined;
  return { family: m[1] as LatencyFamily, stat: m[2] as LatencyStat };
}
