// Per-repeat and per-configuration aggregates (definitions in docs/metrics.md). Only measured requests count;
// throughput counts successful requests' tokens over the measured window; latencies use successful requests.
import { ERROR_KINDS } from '../clients/types.ts';
import type { Aggregate, ErrorCounts } from '../output/types.ts';
import type { Slo } from '../scenario/schema.ts';
import type { RequestRecord } from './request.ts';
import { bootstrapCi, type Summary, summarize } from './summary.ts';

export function emptyErrors(): ErrorCounts {
  return Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as ErrorCounts;
}

export function aggregate(records: readonly RequestRecord[], itl: readonly number[], slo?: Slo): Aggregate {
  const measured = records.filter((r) => r.phase === 'measured');
  const ok = measured.filter((r) => !r.error);
  const errors = emptyErrors();
  for (const r of measured) if (r.error) errors[r.error.kind]++;
  const cancelled = errors.cancelled;
  const failed = measured.length - ok.length - cancelled;

  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const r of measured) {
    start = Math.min(start, r.scheduledMs);
    end = Math.max(end, r.scheduledMs + r.e2eMs);
  }
  const durationS = measured.length > 0 ? Math.max(end - start, 1e-6) / 1000 : 0;
  const per = (n: number) => (durationS > 0 ? n / durationS : 0);

  const sum = (f: (r: RequestRecord) => number | undefined) => ok.reduce((a, r) => a + (f(r) ?? 0), 0);
  const allReported = (f: (r: RequestRecord) => number | undefined) =>
    ok.length > 0 && ok.every((r) => f(r) !== undefined);
  const input = sum((r) => r.promptTokensReported ?? r.promptTokens);
  const output = sum((r) => r.outputTokens);

  const values = (f: (r: RequestRecord) => number | undefined) => ok.map(f).filter((v): v is number => v !== undefined);
  const ttft = summarize(values((r) => r.ttftMs));
  const agg: Aggregate = {
    durationS,
    requests: { measured: measured.length, completed: ok.length, failed, cancelled },
    requestPerS: per(ok.length),
    outputTokPerS: per(output),
    inputTokPerS: per(input),
    totalTokPerS: per(input + output),
    errorRate: measured.length - cancelled > 0 ? failed / (measured.length - cancelled) : 0,
    errors,
    tokens: {
      input,
      output,
      ...(allReported((r) => r.promptTokensReported) ? { inputReported: sum((r) => r.promptTokensReported) } : {}),
      ...(allReported((r) => r.outputTokensReported) ? { outputReported: sum((r) => r.outputTokensReported) } : {}),
      inexactRequests: ok.filter((r) => !r.tokensExact).length,
      mismatchedRequests: ok.filter(
        (r) => r.outputTokensReported !== undefined && r.outputTokensReported !== r.outputTokens,
      ).length,
    },
    ttft,
    itl: summarize(itl),
    tpot: summarize(values((r) => r.tpotMs)),
    e2e: summarize(values((r) => r.e2eMs)),
    dispatch: summarize(measured.map((r) => r.dispatchMs)),
  };
  if (slo) applySlo(agg, measured, slo);
  return agg;
}

const FAMILY_VALUE: Record<string, (r: RequestRecord) => number | undefined> = {
  ttft: (r) => r.ttftMs,
  itl: (r) => r.itlMaxMs ?? 0,
  tpot: (r) => r.tpotMs ?? 0,
  e2e: (r) => r.e2eMs,
};

/**
 * Goodput (vLLM): requests per second that met every per-request bound. A bound is `ttftMs` or, when only a
 * percentile bound is given, that same number (`ttftP99Ms: 500` means each request should see TTFT <= 500 ms,
 * and the config meets the SLO when the p99 does).
 */
function applySlo(agg: Aggregate, measured: RequestRecord[], slo: Slo): void {
  const bounds: [string, number][] = [];
  const failures: string[] = [];
  for (const family of Object.keys(FAMILY_VALUE)) {
    const plain = slo[`${family}Ms`];
    const pct = ['P50', 'P90', 'P95', 'P99']
      .map((s) => [s, slo[`${family}${s}Ms`]] as const)
      .filter((e): e is readonly [string, number] => e[1] !== undefined);
    const bound = plain ?? pct[0]?.[1];
    if (bound !== undefined) bounds.push([family, bound]);
    for (const [s, limit] of pct) {
      const summary = agg[family as 'ttft'] as Summary;
      const got = summary[s.toLowerCase() as 'p50'];
      if (summary.count === 0 || got > limit) failures.push(`${family}${s}Ms ${got.toFixed(1)} > ${limit}`);
    }
  }
  if (bounds.length === 0 && failures.length === 0) return;
  const good = measured.filter(
    (r) =>
      !r.error &&
      bounds.every(([f, b]) => {
        const v = (FAMILY_VALUE[f] as (r: RequestRecord) => number | undefined)(r);
        return v !== undefined && v <= b;
      }),
  ).length;
  agg.goodputPerS = agg.durationS > 0 ? good / agg.durationS : 0;
  agg.goodputFraction = measured.length > 0 ? good / measured.length : 0;
  agg.sloMet = failures.length === 0;
  agg.sloFailures = failures;
}

/** Rate-type numbers of an aggregate, by metric name (the ones averaged across repeats). */
export const RATE_FIELDS = ['requestPerS', 'outputTokPerS', 'inputTokPerS', 'totalTokPerS', 'errorRate'] as const;

/**
 * All repeats of one configuration: latency summaries over the pooled requests, rates averaged over repeats,
 * and bootstrap confidence intervals over the repeats' values.
 */
export function combineRepeats(
  perRepeat: readonly Aggregate[],
  allRecords: readonly RequestRecord[],
  allItl: readonly number[],
  slo?: Slo,
): Aggregate {
  const pooled = aggregate(allRecords, allItl, slo);
  if (perRepeat.length <= 1) return pooled;
  const meanOf = (f: (a: Aggregate) => number) => perRepeat.reduce((s, a) => s + f(a), 0) / perRepeat.length;
  for (const k of RATE_FIELDS) pooled[k] = meanOf((a) => a[k]);
  if (pooled.goodputPerS !== undefined) pooled.goodputPerS = meanOf((a) => a.goodputPerS ?? 0);
  pooled.durationS = perRepeat.reduce((s, a) => s + a.durationS, 0);
  const ci: Record<string, [number, number]> = {};
  const add = (name: string, f: (a: Aggregate) => number) => {
    const c = bootstrapCi(perRepeat.map(f));
    if (c) ci[name] = c;
  };
  for (const k of RATE_FIELDS) add(k, (a) => a[k]);
  for (const fam of ['ttft', 'itl', 'tpot', 'e2e'] as const) {
    add(`${fam}MeanMs`, (a) => a[fam].mean);
    add(`${fam}P50Ms`, (a) => a[fam].p50);
    add(`${fam}P99Ms`, (a) => a[fam].p99);
  }
  pooled.ci = ci;
  return pooled;
}
