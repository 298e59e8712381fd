// `bench compare A B [...]`: runs overlaid in one HTML page, and a ratio table (each run against the first) for
// the configurations they share, matched by name.
import { basename, dirname } from 'node:path';
import { metricValue } from '../harness/gates/samples.ts';
import type { MetricName } from '../harness/metrics/names.ts';
import type { ResultsFile } from '../harness/output/types.ts';
import type { Run } from './charts.ts';
import { num, textTable } from './format.ts';

export const COMPARE_METRICS: MetricName[] = [
  'outputTokPerS',
  'requestPerS',
  'ttftP50Ms',
  'ttftP99Ms',
  'itlP50Ms',
  'tpotP50Ms',
  'e2eP50Ms',
  'errorRate',
];

/** Labels from the run folders' names, made unique. */
export function labelRuns(paths: string[], results: ResultsFile[]): Run[] {
  const seen = new Map<string, number>();
  return results.map((r, i) => {
    const p = paths[i] as string;
    let label = basename(p) === 'results.json' ? basename(dirname(p)) : basename(p).replace(/\.json$/, '');
    if (!label || label === '.') label = r.scenario.name;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return { label: n === 1 ? label : `${label}#${n}`, results: r };
  });
}

export interface CompareRow {
  config: string;
  metric: MetricName;
  values: (number | undefined)[]; // one per run
  ratios: (number | undefined)[]; // run i / run 0
}

export function compareRuns(runs: Run[]): CompareRow[] {
  const base = runs[0];
  if (!base) return [];
  const rows: CompareRow[] = [];
  for (const c of base.results.configs) {
    if (c.status === 'failed') continue;
    for (const metric of COMPARE_METRICS) {
      const values = runs.map((r) => {
        const other = r.results.configs.find((x) => x.name === c.name && x.status !== 'failed');
        return other ? metricValue(other.summary, metric) : undefined;
      });
      const b = values[0];
      rows.push({
        config: c.name,
        metric,
        values,
        ratios: values.map((v) => (v === undefined || b === undefined || b === 0 ? undefined : v / b)),
      });
    }
  }
  return rows;
}

export function renderCompare(runs: Run[]): string {
  const header = [
    'config',
    'metric',
    ...runs.flatMap((r, i) => (i === 0 ? [r.label] : [r.label, `/${runs[0]?.label}`])),
  ];
  const rows = compareRuns(runs).map((row) => [
    row.config,
    row.metric,
    ...row.values.flatMap((v, i) =>
      i === 0 ? [num(v)] : [num(v), row.ratios[i] === undefined ? '–' : `${(row.ratios[i] as number).toFixed(3)}x`],
    ),
  ]);
  return textTable(header, rows);
}
