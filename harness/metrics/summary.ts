// Summary statistics (simple-statistics) and bootstrap confidence intervals with a seeded resampler, so that the
// same samples always give the same interval.
import { max, mean, min, quantileSorted, standardDeviation } from 'simple-statistics';
import { seededRng } from '../workload/rng.ts';

export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

export const EMPTY_SUMMARY: Summary = { count: 0, mean: 0, std: 0, min: 0, max: 0, p50: 0, p90: 0, p95: 0, p99: 0 };

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { ...EMPTY_SUMMARY };
  const sorted = Float64Array.from(values).sort() as unknown as number[];
  const q = (p: number) => quantileSorted(sorted, p);
  return {
    count: values.length,
    mean: mean(sorted),
    std: values.length > 1 ? standardDeviation(sorted) : 0,
    min: min(sorted),
    max: max(sorted),
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
  };
}

export type Statistic = (sample: readonly number[]) => number;
export const statMean: Statistic = (s) => mean(s as number[]);
export const statQuantile =
  (p: number): Statistic =>
  (s) =>
    quantileSorted(Float64Array.from(s).sort() as unknown as number[], p);

/** Percentile bootstrap confidence interval of `stat` over `values` (seeded, `rounds` resamples). */
export function bootstrapCi(
  values: readonly number[],
  stat: Statistic = statMean,
  level = 0.95,
  rounds = 1000,
  seed = 12345,
): [number, number] | undefined {
  if (values.length < 2) return undefined;
  const rng = seededRng(seed);
  const stats = new Float64Array(rounds);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(rng() * values.length)] as number;
    stats[r] = stat(sample);
  }
  stats.sort();
  const a = (1 - level) / 2;
  const s = stats as unknown as number[];
  return [quantileSorted(s, a), quantileSorted(s, 1 - a)];
}
