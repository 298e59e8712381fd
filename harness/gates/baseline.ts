// Baselines: per configuration, every gateable metric's value and the samples its test resamples, so a later run
// can be gated against this one without the original results folder.
import { readFileSync } from 'node:fs';
import { BenchError, badInput } from '../../engine/errors.ts';
import { METRIC_NAMES, type MetricName } from '../metrics/names.ts';
import { writeFileAtomic } from '../output/io.ts';
import type { Environment, ResultsFile } from '../output/types.ts';
import { seededRng } from '../workload/rng.ts';
import { metricSamples } from './samples.ts';

export const BASELINE_KIND = 'llm-bench-baseline';
export const BASELINE_SCHEMA_VERSION = 1;
const MAX_SAMPLES = 2000; // bounds file size; a seeded subsample keeps the distribution

export interface BaselineMetric {
  value: number;
  samples?: number[];
}

export interface Baseline {
  kind: typeof BASELINE_KIND;
  schemaVersion: typeof BASELINE_SCHEMA_VERSION;
  scenario: string;
  createdAt: string;
  from: string; // the results file it was made from
  partial: boolean;
  environment: Environment;
  configs: Record<string, Partial<Record<MetricName, BaselineMetric>>>;
}

export function baselineFromResults(results: ResultsFile, from: string): Baseline {
  const configs: Baseline['configs'] = {};
  for (const c of results.configs) {
    if (c.status === 'failed') continue;
    const metrics: Partial<Record<MetricName, BaselineMetric>> = {};
    for (const name of METRIC_NAMES) {
      const m = metricSamples(c, name);
      if (m.value === undefined || !Number.isFinite(m.value)) continue;
      metrics[name] = { value: m.value, ...(m.samples ? { samples: subsample(m.samples) } : {}) };
    }
    configs[c.name] = metrics;
  }
  return {
    kind: BASELINE_KIND,
    schemaVersion: BASELINE_SCHEMA_VERSION,
    scenario: results.scenario.name,
    createdAt: new Date().toISOString(),
    from,
    partial: results.partial,
    environment: results.environment,
    configs,
  };
}

function subsample(values: number[]): number[] {
  if (values.length <= MAX_SAMPLES) return values;
  const rng = seededRng(7);
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as number, copy[i] as number];
  }
  return copy.slice(0, MAX_SAMPLES);
}

export async function saveBaseline(results: ResultsFile, from: string, file: string): Promise<Baseline> {
  if (results.configs.every((c) => c.status === 'failed')) {
    throw badInput(`${from} has no measured configurations; nothing to save as a baseline`);
  }
  const b = baselineFromResults(results, from);
  await writeFileAtomic(file, `${JSON.stringify(b, null, 1)}\n`);
  return b;
}

export function readBaseline(file: string): Baseline {
  let v: Partial<Baseline>;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as Partial<Baseline>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new BenchError(
        'FILE_NOT_FOUND',
        `baseline ${file} does not exist; create it with \`bench baseline save RESULTS ${file}\``,
      );
    }
    throw badInput(`baseline ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (v.kind !== BASELINE_KIND || v.schemaVersion !== BASELINE_SCHEMA_VERSION || typeof v.configs !== 'object') {
    throw badInput(`${file} is not a baseline of this version; save a new one with \`bench baseline save\``);
  }
  return v as Baseline;
}
