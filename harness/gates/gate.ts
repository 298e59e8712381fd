// Gates: per metric, a direction (from the metric) and an allowed change, decided against a stored baseline or
// between two configurations of the same run, with the bootstrap ratio test of stats.ts. One line per gate.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MetricName } from '../metrics/names.ts';
import type { ConfigResult, ResultsFile } from '../output/types.ts';
import type { Gate } from '../scenario/schema.ts';
import { type Baseline, type BaselineMetric, readBaseline } from './baseline.ts';
import { metricDirection, metricSamples, statisticFor } from './samples.ts';
import { bootstrapRatio } from './stats.ts';

export interface GateResult {
  metric: string;
  config: string;
  against: string; // "baseline FILE" or a configuration name
  pass: boolean;
  skipped?: boolean; // nothing to compare with; does not fail the build
  value?: number;
  baseValue?: number;
  ratio?: number;
  line: string;
}

/** Gates used by `bench gate` when the scenario defines none. */
export const DEFAULT_GATES: Gate[] = [
  { metric: 'outputTokPerS', maxRegression: 0.05, alpha: 0.05 },
  { metric: 'ttftP50Ms', maxRegression: 0.1, alpha: 0.05 },
  { metric: 'tpotP50Ms', maxRegression: 0.1, alpha: 0.05 },
];

export interface GateOptions {
  scenarioDir: string;
  baseline?: string; // overrides each gate's own baseline file
  /** Missing baseline files: skip (first run of a scenario) or fail with FILE_NOT_FOUND (`bench gate`). */
  missingBaseline: 'skip' | 'error';
}

export function evaluateScenarioGates(
  results: ResultsFile,
  gates: Gate[],
  scenarioDir: string,
  baseline?: string,
): GateResult[] {
  return evaluateGates(results, gates, { scenarioDir, ...(baseline ? { baseline } : {}), missingBaseline: 'skip' });
}

export function evaluateGates(results: ResultsFile, gates: Gate[], o: GateOptions): GateResult[] {
  const byName = new Map(results.configs.filter((c) => c.status !== 'failed').map((c) => [c.name, c]));
  const out: GateResult[] = [];
  for (const g of gates) {
    const metric = g.metric as MetricName;
    const selected = [...byName.values()].filter((c) => !g.configs || g.configs.includes(c.name));
    if (g.max !== undefined || g.min !== undefined) {
      for (const c of selected) out.push(absolute(g, metric, c));
    } else if (g.between) {
      const base = byName.get(g.between.base);
      const cand = byName.get(g.between.candidate);
      const missing = !base ? g.between.base : !cand ? g.between.candidate : undefined;
      if (missing !== undefined) {
        // The loader checks the names exist; here a configuration can only be missing because it failed.
        const line = `FAIL ${metric} [${g.between.candidate}]: configuration "${missing}" has no measurements (failed or not run)`;
        out.push({ metric, config: g.between.candidate, against: g.between.base, pass: false, line });
        continue;
      }
      out.push(
        compare(
          g,
          metric,
          (cand as ConfigResult).name,
          g.between.base,
          toMetric(base as ConfigResult, metric),
          cand as ConfigResult,
        ),
      );
    } else {
      const file = o.baseline ?? (g.baseline ? resolve(o.scenarioDir, g.baseline) : undefined);
      if (!file || (o.missingBaseline === 'skip' && !existsSync(file))) {
        const why = file
          ? `baseline ${file} does not exist yet (create it with \`bench baseline save\`)`
          : 'no baseline given (--baseline FILE)';
        out.push({
          metric,
          config: '*',
          against: 'baseline',
          pass: true,
          skipped: true,
          line: `SKIP ${metric}: ${why}`,
        });
        continue;
      }
      const baseline: Baseline = readBaseline(file);
      for (const c of selected) {
        const b = baseline.configs[c.name]?.[metric];
        if (!b) {
          out.push({
            metric,
            config: c.name,
            against: file,
            pass: true,
            skipped: true,
            line: `SKIP ${metric} [${c.name}]: not in baseline ${file}`,
          });
          continue;
        }
        out.push(compare(g, metric, c.name, `baseline`, b, c));
      }
    }
  }
  return out;
}

function toMetric(c: ConfigResult, metric: MetricName): BaselineMetric | undefined {
  const m = metricSamples(c, metric);
  return m.value === undefined ? undefined : { value: m.value, ...(m.samples ? { samples: m.samples } : {}) };
}

function absolute(g: Gate, metric: MetricName, c: ConfigResult): GateResult {
  const v = metricSamples(c, metric).value;
  const bound = g.max ?? g.min;
  const pass = v !== undefined && (g.max !== undefined ? v <= g.max : v >= (g.min as number));
  const rel = g.max !== undefined ? '<=' : '>=';
  const line = `${pass ? 'PASS' : 'FAIL'} ${metric} [${c.name}]: ${fmt(v)} (must be ${rel} ${bound})`;
  return { metric, config: c.name, against: `${rel} ${bound}`, pass, ...(v !== undefined ? { value: v } : {}), line };
}

function compare(
  g: Gate,
  metric: MetricName,
  config: string,
  against: string,
  base: BaselineMetric | undefined,
  c: ConfigResult,
): GateResult {
  const cand = toMetric(c, metric);
  if (!base || !cand) {
    const line = `FAIL ${metric} [${config}]: no value to compare (${!cand ? 'no successful requests' : `${against} has none`})`;
    return { metric, config, against, pass: false, line };
  }
  const higher = metricDirection(metric) === 'higher';
  const tested = base.samples && cand.samples;
  const ci = tested
    ? bootstrapRatio(base.samples as number[], cand.samples as number[], statisticFor(metric), g.alpha)
    : {
        ratio: pointRatio(base.value, cand.value),
        lo: pointRatio(base.value, cand.value),
        hi: pointRatio(base.value, cand.value),
      };
  let pass: boolean;
  let rule: string;
  // The bound that matters is the one on the side of the claim being tested.
  if (g.maxRegression !== undefined) {
    const limit = higher ? 1 - g.maxRegression : 1 + g.maxRegression;
    pass = higher ? !(ci.hi < limit) : !(ci.lo > limit);
    rule = `allowed ${higher ? '-' : '+'}${pct(g.maxRegression)}`;
  } else {
    const need = g.minImprovement as number;
    const limit = higher ? 1 + need : 1 - need;
    pass = higher ? ci.lo > limit : ci.hi < limit;
    rule = `required ${higher ? '+' : '-'}${pct(need)}`;
  }
  // Two one-sided bounds at 1 - alpha: the gate acts only when the bound on the tested side clears the limit.
  const conf = tested
    ? `; ${pct(1 - 2 * g.alpha)} CI ${signed(ci.lo - 1)}..${signed(ci.hi - 1)}`
    : '; point values, no samples to test';
  const line = `${pass ? 'PASS' : 'FAIL'} ${metric} [${config}]: ${fmt(cand.value)} vs ${fmt(base.value)} ${against} (${signed(ci.ratio - 1)}${conf}), ${rule}`;
  return { metric, config, against, pass, value: cand.value, baseValue: base.value, ratio: ci.ratio, line };
}

function pointRatio(base: number, cand: number): number {
  if (base === 0) return cand === 0 ? 1 : Number.POSITIVE_INFINITY;
  return cand / base;
}

const pct = (f: number) => `${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;
const signed = (f: number) => (Number.isFinite(f) ? `${f >= 0 ? '+' : ''}${(f * 100).toFixed(1)}%` : 'n/a');
const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
