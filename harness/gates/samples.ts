// What a gate compares: a metric's value for one configuration, and the samples a statistical test resamples.
// Latency metrics: one sample per successful measured request (ITL uses each request's mean ITL, i.e. its TPOT).
// Rates: one sample per repeat when there are several, else one per timeline bucket of the measured run (the
// first and last buckets are partial and dropped when there are enough).
import { type LatencyStat, type MetricName, metricDirection, parseLatencyMetric } from '../metrics/names.ts';
import type { Statistic } from '../metrics/summary.ts';
import { statMean, statQuantile } from '../metrics/summary.ts';
import type { Aggregate, ConfigResult } from '../output/types.ts';

export interface MetricSamples {
  value: number | undefined;
  samples?: number[];
  statistic: Statistic; // how `value` is computed from samples
}

const STAT: Record<LatencyStat, Statistic> = {
  Mean: statMean,
  P50: statQuantile(0.5),
  P90: statQuantile(0.9),
  P95: statQuantile(0.95),
  P99: statQuantile(0.99),
};

/** The statistic that turns samples into the metric's value (mean for rates, the percentile for latencies). */
export function statisticFor(name: MetricName): Statistic {
  const lat = parseLatencyMetric(name);
  return lat ? STAT[lat.stat] : statMean;
}

export function metricValue(a: Aggregate, name: MetricName): number | undefined {
  const lat = parseLatencyMetric(name);
  if (lat) {
    const s = a[lat.family];
    if (s.count === 0) return undefined;
    return lat.stat === 'Mean' ? s.mean : s[lat.stat.toLowerCase() as 'p50'];
  }
  switch (name) {
    case 'specAcceptance':
      return a.spec?.acceptance;
    case 'goodputPerS':
      return a.goodputPerS;
    case 'goodputFraction':
      return a.goodputFraction;
    default:
      return a[name as 'outputTokPerS'];
  }
}

export function metricSamples(c: ConfigResult, name: MetricName): MetricSamples {
  const value = metricValue(c.summary, name);
  const lat = parseLatencyMetric(name);
  const measured = c.requests.filter((r) => r.phase === 'measured' && !r.error);
  if (lat) {
    const pick = {
      ttft: (r: (typeof measured)[number]) => r.ttftMs,
      itl: (r: (typeof measured)[number]) => r.tpotMs,
      tpot: (r: (typeof measured)[number]) => r.tpotMs,
      e2e: (r: (typeof measured)[number]) => r.e2eMs,
    }[lat.family];
    const samples = measured.map(pick).filter((v): v is number => v !== undefined);
    return { value, statistic: STAT[lat.stat], ...(samples.length >= 2 ? { samples } : {}) };
  }
  if (c.repeats.length >= 2) {
    const samples = c.repeats.map((r) => metricValue(r.summary, name)).filter((v): v is number => v !== undefined);
    return { value, statistic: statMean, ...(samples.length >= 2 ? { samples } : {}) };
  }
  const t = c.repeats[0]?.timeline;
  if (t && (name === 'outputTokPerS' || name === 'requestPerS')) {
    let series = (name === 'outputTokPerS' ? t.outputTokens : t.completed).map((n) => (n * 1000) / t.bucketMs);
    if (series.length >= 4) series = series.slice(1, -1);
    // Bucket rates have the same mean as the run's rate only approximately; scale them so they agree exactly.
    const m = series.length > 0 ? series.reduce((x, y) => x + y, 0) / series.length : 0;
    if (series.length >= 2 && m > 0 && value !== undefined) {
      return { value, statistic: statMean, samples: series.map((v) => (v * value) / m) };
    }
  }
  return { value, statistic: statMean };
}

export { metricDirection };
