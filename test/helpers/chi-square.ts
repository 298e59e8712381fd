// Pearson's chi-square test against expected probabilities (bins with expected count < 5 are merged), with the
// critical value from simple-statistics' table.
import { chiSquaredDistributionTable } from 'simple-statistics';

export interface ChiSquare {
  statistic: number;
  df: number;
  critical: number; // at the given significance
  rejects: boolean; // statistic > critical: the samples are not from the expected distribution
}

export function chiSquare(counts: ArrayLike<number>, expected: ArrayLike<number>, alpha = 0.01): ChiSquare {
  const n = Array.from(counts).reduce((a, b) => a + b, 0);
  let statistic = 0;
  let bins = 0;
  let accO = 0;
  let accE = 0;
  for (let i = 0; i < expected.length; i++) {
    accO += counts[i]!;
    accE += expected[i]! * n;
    if (accE >= 5) {
      statistic += (accO - accE) ** 2 / accE;
      bins++;
      accO = 0;
      accE = 0;
    }
  }
  if (accE > 0) statistic += (accO - accE) ** 2 / Math.max(accE, 1e-9);
  const df = Math.max(1, bins - 1);
  const table = chiSquaredDistributionTable as unknown as Record<string, Record<string, number>>;
  const critical = table[String(df)]?.[String(alpha)] ?? criticalApprox(df, alpha);
  return { statistic, df, critical, rejects: statistic > critical };
}

/** Wilson-Hilferty approximation for degrees of freedom past the table. */
function criticalApprox(df: number, alpha: number): number {
  const z = alpha === 0.01 ? 2.326 : alpha === 0.05 ? 1.645 : 2.576;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/** Two-sample chi-square test of homogeneity: are two sets of counts from one distribution? */
export function chiSquareTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, alpha = 0.01): ChiSquare {
  const na = Array.from(a).reduce((x, y) => x + y, 0);
  const nb = Array.from(b).reduce((x, y) => x + y, 0);
  let statistic = 0;
  let bins = 0;
  let accA = 0;
  let accB = 0;
  const flush = () => {
    const pooled = (accA + accB) / (na + nb);
    const ea = pooled * na;
    const eb = pooled * nb;
    statistic += (accA - ea) ** 2 / ea + (accB - eb) ** 2 / eb;
    bins++;
    accA = 0;
    accB = 0;
  };
  // Merge neighbouring bins until each expected count is at least 5 (the test's validity condition).
  for (let i = 0; i < a.length; i++) {
    accA += a[i]!;
    accB += b[i]!;
    if (((accA + accB) / (na + nb)) * Math.min(na, nb) >= 5) flush();
  }
  if (accA + accB > 0) flush();
  const df = Math.max(1, bins - 1);
  const table = chiSquaredDistributionTable as unknown as Record<string, Record<string, number>>;
  const critical = table[String(df)]?.[String(alpha)] ?? criticalApprox(df, alpha);
  return { statistic, df, critical, rejects: statistic > critical };
}
