// What a gate compares: a metric's value for one configuration, and the samples a statistical test resamples.
// Latency metrics: one sample per successful measured request (ITL uses each request's mean ITL, i.e. its TPOT).
// Rates: one sample per repeat when there are several, else one per time slice of the measured run.
import { type LatencyStat, type MetricName, metricDirection, parseLatencyMetric } from '../metrics/names.ts';
import type { RequestRecord } from '../metrics/request.ts';
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
  if (name === 'outputTokPerS' || name === 'requestPerS' || name === 'totalTokPerS') {
    const series = windowRates(measured, name);
    // Window rates average to the run's rate only approximately; scale them so they agree exactly.
    const m = series.length > 0 ? series.reduce((x, y) => x + y, 0) / series.length : 0;
    if (series.length >= 2 && m > 0 && value !== undefined) {
      return { value, statistic: statMean, samples: series.map((v) => (v * value) / m) };
    }
  }
  return { value, statistic: statMean };
}

/**
 * A single run's throughput as a sample: the measured window cut into equal slices (about three requests
 * each, 4 to 20 slices), each request's tokens spread evenly over its streaming time, one rate per slice.
 */
function windowRates(reqs: RequestRecord[], name: 'outputTokPerS' | 'requestPerS' | 'totalTokPerS'): number[] {
  if (reqs.length < 8) return [];
  const start = Math.min(...reqs.map((r) => r.scheduledMs));
  const end = Math.max(...reqs.map((r) => r.scheduledMs + r.e2eMs));
  const k = Math.max(4, Math.min(20, Math.floor(reqs.length / 3)));
  const width = (end - start) / k;
  if (width <= 0) return [];
  const bins = new Float64Array(k);
  for (const r of reqs) {
    const done = r.scheduledMs + r.e2eMs;
    if (name === 'requestPerS') {
      const b = Math.min(k - 1, Math.floor((done - start) / width));
      bins[b] = (bins[b] as number) + 1;
      continue;
    }
    const tokens = r.outputTokens + (name === 'totalTokPerS' ? (r.promptTokensReported ?? r.promptTokens) : 0);
    const from = r.scheduledMs + (r.ttftMs ?? 0);
    spread(bins, start, width, from, Math.max(done, from + 1e-6), tokens);
  }
  return [...bins].map((n) => (n * 1000) / width);
}

/** Adds `amount`, spread evenly over [from, to], to the bins it overlaps. */
function spread(bins: Float64Array, start: number, width: number, from: number, to: number, amount: number): void {
  const per = amount / (to - from);
  for (let b = Math.max(0, Math.floor((from - start) / width)); b < bins.length; b++) {
    const lo = start + b * width;
    const overlap = Math.min(to, lo + width) - Math.max(from, lo);
    if (lo >= to) break;
    if (overlap > 0) bins[b] = (bins[b] as number) + overlap * per;
  }
}

export { metricDirection };
