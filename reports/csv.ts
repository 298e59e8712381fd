// results.csv: one row per configuration, every metric a column (names as in docs/metrics.md), matrix overrides
// as their own columns, so spreadsheets and pandas can pivot on them.
import { ERROR_KINDS } from '../harness/clients/types.ts';
import { metricValue } from '../harness/gates/samples.ts';
import { METRIC_NAMES } from '../harness/metrics/names.ts';
import type { ResultsFile } from '../harness/output/types.ts';
import { csvCell } from './format.ts';
import { engineOf, gpuOf, speculateOf, threadsOf } from './rows.ts';

export function renderCsv(results: ResultsFile): string {
  const overrideKeys = [...new Set(results.configs.flatMap((c) => Object.keys(c.overrides)))];
  const header = [
    'index',
    'name',
    'status',
    ...overrideKeys,
    'gpu',
    'engine',
    'threads',
    'speculate',
    'durationS',
    'measured',
    'completed',
    'failed',
    'outputTokens',
    'inputTokens',
    ...METRIC_NAMES,
    ...ERROR_KINDS.map((k) => `errors_${k}`),
  ];
  const rows = results.configs.map((c) => [
    c.index + 1,
    c.name,
    c.status,
    ...overrideKeys.map((k) => c.overrides[k]),
    gpuOf(c),
    engineOf(c),
    threadsOf(c),
    speculateOf(c),
    c.summary.durationS,
    c.summary.requests.measured,
    c.summary.requests.completed,
    c.summary.requests.failed,
    c.summary.tokens.output,
    c.summary.tokens.input,
    ...METRIC_NAMES.map((m) => (c.status === 'failed' ? undefined : metricValue(c.summary, m))),
    ...ERROR_KINDS.map((k) => c.summary.errors[k]),
  ]);
  return `${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')}\n`;
}
