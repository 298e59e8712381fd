// The statistical test behind gates: a seeded bootstrap of the ratio candidate/base of a statistic (mean, p50,
// p99...), resampling both sides independently. A gate acts only when the one-sided confidence bound clears the
// allowed change, so noise alone neither fails a build nor passes a claimed improvement.
import { quantileSorted } from 'simple-statistics';
import type { Statistic } from '../metrics/summary.ts';
import { seededRng } from '../workload/rng.ts';

export interface RatioCi {
  ratio: number; // statistic(candidate) / statistic(base)
  lo: number; // lower one-sided bound at level 1 - alpha
  hi: number; // upper one-sided bound at level 1 - alpha
}

export function bootstrapRatio(
  base: readonly number[],
  candidate: readonly number[],
  stat: Statistic,
  alpha: number,
  rounds = 2000,
  seed = 20240601,
): RatioCi {
  const b0 = stat(base);
  const ratio = b0 === 0 ? Number.POSITIVE_INFINITY : stat(candidate) / b0;
  const rng = seededRng(seed);
  const ratios = new Float64Array(rounds);
  const bs = new Array<number>(base.length);
  const cs = new Array<number>(candidate.length);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < base.length; i++) bs[i] = base[Math.floor(rng() * base.length)] as number;
    for (let i = 0; i < candidate.length; i++) cs[i] = candidate[Math.floor(rng() * candidate.length)] as number;
    const b = stat(bs);
    ratios[r] = b === 0 ? Number.POSITIVE_INFINITY : stat(cs) / b;
  }
  ratios.sort();
  const s = ratios as unknown as number[];
  return { ratio, lo: quantileSorted(s, alpha), hi: quantileSorted(s, 1 - alpha) };
}
