// Chart definitions as plain chart.js configurations (data only, no functions), shared by the HTML report (drawn
// in the browser) and the PNG renderer (drawn in Node with @napi-rs/canvas). Several runs overlay for `compare`.
import { decode } from '../harness/metrics/histogram.ts';
import type { ConfigResult, ResultsFile } from '../harness/output/types.ts';

export interface ChartSpec {
  id: string;
  title: string;
  config: Record<string, unknown>; // a chart.js ChartConfiguration
}

export interface Run {
  label: string; // '' for a single run
  results: ResultsFile;
}

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const color = (i: number) => PALETTE[i % PALETTE.length] as string;
const MAX_SERIES = 12;

const measured = (r: ResultsFile) => r.configs.filter((c) => c.status !== 'failed' && c.summary.requests.completed > 0);
const prefix = (run: Run, s: string) => (run.label ? `${run.label}: ${s}` : s);

function axes(x: string, y: string, extra: Record<string, unknown> = {}) {
  return {
    x: { title: { display: true, text: x }, ...extra },
    y: { title: { display: true, text: y }, beginAtZero: true },
  };
}

function chart(id: string, title: string, type: string, data: unknown, scales: unknown): ChartSpec {
  return {
    id,
    title,
    config: {
      type,
      data,
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
        scales,
      },
    },
  };
}

/** Config names in first-seen order across runs (the x axis of per-config charts). */
function configNames(runs: Run[]): string[] {
  return [...new Set(runs.flatMap((r) => measured(r.results).map((c) => c.name)))];
}

function perConfigBars(
  runs: Run[],
  id: string,
  title: string,
  yTitle: string,
  series: [string, (c: ConfigResult) => number | undefined][],
): ChartSpec {
  const names = configNames(runs);
  let i = 0;
  const datasets = runs.flatMap((run) =>
    series.map(([label, f]) => {
      const byName = new Map(measured(run.results).map((c) => [c.name, c]));
      const col = color(i++);
      return {
        label: prefix(run, label),
        data: names.map((n) => {
          const c = byName.get(n);
          return c ? (f(c) ?? null) : null;
        }),
        backgroundColor: col,
        borderColor: col,
      };
    }),
  );
  return chart(id, title, 'bar', { labels: names, datasets }, axes('configuration', yTitle));
}

/** Series of (x = a swept key, y) lines, one per combination of the other swept keys. */
function sweepLines(
  runs: Run[],
  key: string,
  id: string,
  title: string,
  xTitle: string,
  y: (c: ConfigResult) => number | undefined,
  yTitle = 'output tok/s',
): ChartSpec | undefined {
  const points = runs.flatMap((run) =>
    measured(run.results)
      .filter((c) => typeof c.overrides[key] === 'number')
      .map((c) => ({ run, c, x: c.overrides[key] as number })),
  );
  if (new Set(points.map((p) => p.x)).size < 2) return undefined;
  const groups = new Map<string, { x: number; y: number | null }[]>();
  for (const p of points) {
    const rest = Object.entries(p.c.overrides)
      .filter(([k]) => k !== key)
      .map(([k, v]) => `${k.split('.').pop()}=${String(v)}`)
      .join(',');
    const label = prefix(p.run, rest || yTitle);
    const arr = groups.get(label) ?? [];
    arr.push({ x: p.x, y: y(p.c) ?? null });
    groups.set(label, arr);
  }
  const datasets = [...groups.entries()].slice(0, MAX_SERIES).map(([label, data], i) => ({
    label,
    data: data.sort((a, b) => a.x - b.x),
    borderColor: color(i),
    backgroundColor: color(i),
  }));
  return chart(id, title, 'line', { datasets }, axes(xTitle, yTitle, { type: 'linear' }));
}

/** Cumulative distributions read well even with few samples (a histogram of 16 requests is mostly noise). */
const CDF_PERCENTILES = [...Array.from({ length: 100 }, (_, i) => i), 99.5, 99.9, 100];

function distribution(runs: Run[], id: string, title: string, hist: 'ttft' | 'itl'): ChartSpec | undefined {
  const datasets = runs
    .flatMap((run) => measured(run.results).map((c) => ({ run, c })))
    .slice(0, MAX_SERIES)
    .map(({ run, c }, i) => {
      const h = decode(c.histograms[hist]);
      return {
        label: prefix(run, c.name),
        data:
          h.totalCount === 0 ? [] : CDF_PERCENTILES.map((p) => ({ x: h.getValueAtPercentile(p) / 1000, y: p / 100 })),
        borderColor: color(i),
        backgroundColor: color(i),
        pointRadius: 0,
        stepped: true,
      };
    })
    .filter((d) => d.data.length > 0);
  if (datasets.length === 0) return undefined;
  return chart(
    id,
    title,
    'line',
    { datasets },
    {
      x: { type: 'linear', title: { display: true, text: 'ms' } },
      y: { title: { display: true, text: 'fraction of samples at or below' }, min: 0, max: 1 },
    },
  );
}

function timeline(runs: Run[]): ChartSpec | undefined {
  const datasets = runs
    .flatMap((run) => measured(run.results).map((c) => ({ run, c })))
    .slice(0, MAX_SERIES)
    .map(({ run, c }, i) => {
      const t = c.repeats[0]?.timeline;
      return {
        label: prefix(run, c.name),
        data: (t?.outputTokens ?? []).map((n, k) => ({
          x: ((k + 0.5) * (t?.bucketMs ?? 500)) / 1000,
          y: (n * 1000) / (t?.bucketMs ?? 500),
        })),
        borderColor: color(i),
        backgroundColor: color(i),
        pointRadius: 0,
      };
    })
    .filter((d) => d.data.length > 1);
  if (datasets.length === 0) return undefined;
  return chart(
    'timeline',
    'Output tokens/s over time (first repeat)',
    'line',
    { datasets },
    axes('seconds', 'output tok/s', { type: 'linear' }),
  );
}

const DEPTH = 'engine.specDepth';
const POINT_STYLES = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'cross'];

/** "spec=ngram" reads as "ngram" in a legend; other keys keep their short name. */
function shortOverrides(entries: [string, unknown][]): string {
  return entries.map(([k, v]) => (k === 'engine.spec' ? String(v) : `${k.split('.').pop()}=${String(v)}`)).join(', ');
}

/**
 * Speculative depth against tok/s (left axis, a solid line per configuration of the other swept keys) and against
 * acceptance (right axis 0..1, a dashed line per method: accepted / proposed summed over the load keys, because the
 * number of clients changes throughput, not which drafts a lossless verifier keeps). A method's lines share a colour.
 */
function specChart(runs: Run[]): ChartSpec | undefined {
  const points = runs.flatMap((run) =>
    measured(run.results)
      .filter((c) => typeof c.overrides[DEPTH] === 'number')
      .map((c) => {
        const rest = Object.entries(c.overrides).filter(([k]) => k !== DEPTH);
        const group = shortOverrides(rest.filter(([k]) => !k.startsWith('load.')));
        const line = shortOverrides(rest);
        return {
          c,
          x: c.overrides[DEPTH] as number,
          line: prefix(run, line ? `tok/s (${line})` : 'output tok/s'),
          accLabel: prefix(run, group ? `acceptance (${group})` : 'acceptance rate'),
        };
      }),
  );
  if (new Set(points.map((p) => p.x)).size < 2) return undefined;

  const accLabels = [...new Set(points.map((p) => p.accLabel))];
  const colorOf = (accLabel: string) => color(accLabels.indexOf(accLabel));
  const lines = new Map<string, { accLabel: string; data: { x: number; y: number | null }[] }>();
  const acceptance = new Map<string, Map<number, { proposed: number; accepted: number }>>();
  for (const p of points) {
    const l = lines.get(p.line) ?? { accLabel: p.accLabel, data: [] };
    l.data.push({ x: p.x, y: p.c.summary.outputTokPerS });
    lines.set(p.line, l);
    const spec = p.c.summary.spec;
    if (!spec || spec.proposed <= 0) continue;
    const byDepth = acceptance.get(p.accLabel) ?? new Map<number, { proposed: number; accepted: number }>();
    const sum = byDepth.get(p.x) ?? { proposed: 0, accepted: 0 };
    sum.proposed += spec.proposed;
    sum.accepted += spec.accepted;
    byDepth.set(p.x, sum);
    acceptance.set(p.accLabel, byDepth);
  }

  const variants = new Map<string, number>(); // tok/s lines seen per method, for their point style
  const tokS = [...lines.entries()].map(([label, l]) => {
    const n = variants.get(l.accLabel) ?? 0;
    variants.set(l.accLabel, n + 1);
    return {
      label,
      data: l.data.sort((a, b) => a.x - b.x),
      yAxisID: 'y',
      borderColor: colorOf(l.accLabel),
      backgroundColor: colorOf(l.accLabel),
      pointStyle: POINT_STYLES[n % POINT_STYLES.length],
      pointRadius: 4,
    };
  });
  const acc = [...acceptance.entries()].map(([label, byDepth]) => ({
    label,
    data: [...byDepth.entries()].sort(([a], [b]) => a - b).map(([x, s]) => ({ x, y: s.accepted / s.proposed })),
    yAxisID: 'y2',
    borderColor: colorOf(label),
    backgroundColor: colorOf(label),
    borderDash: [6, 4],
    pointStyle: 'crossRot',
    pointRadius: 5,
  }));
  // Every method's acceptance stays visible: tok/s lines give way first when there are too many series.
  const datasets = [...tokS.slice(0, Math.max(MAX_SERIES - acc.length, 1)), ...acc];
  const scales: Record<string, unknown> = axes('spec depth (tokens proposed per step)', 'output tok/s', {
    type: 'linear',
    ticks: { stepSize: 1 },
  });
  if (acc.length > 0)
    scales.y2 = {
      position: 'right',
      min: 0,
      max: 1,
      title: { display: true, text: 'acceptance (accepted / proposed drafts)' },
      grid: { drawOnChartArea: false },
    };
  const spec = chart('spec-depth', 'Speculative depth vs tok/s and acceptance', 'line', { datasets }, scales);
  const legend = (spec.config.options as { plugins: { legend: Record<string, unknown> } }).plugins.legend;
  legend.labels = { usePointStyle: true };
  return spec;
}

export function buildCharts(runs: Run[]): ChartSpec[] {
  if (configNames(runs).length === 0) return [];
  const charts: (ChartSpec | undefined)[] = [
    perConfigBars(runs, 'throughput', 'Output tokens/s per configuration', 'output tok/s', [
      ['output tok/s', (c) => c.summary.outputTokPerS],
    ]),
    sweepLines(
      runs,
      'load.concurrency',
      'concurrency',
      'Throughput vs concurrency',
      'concurrent clients',
      (c) => c.summary.outputTokPerS,
    ),
    specChart(runs),
    perConfigBars(runs, 'ttft-percentiles', 'TTFT percentiles', 'ms', [
      ['p50', (c) => c.summary.ttft.p50],
      ['p90', (c) => c.summary.ttft.p90],
      ['p99', (c) => c.summary.ttft.p99],
    ]),
    perConfigBars(runs, 'itl-percentiles', 'ITL percentiles', 'ms', [
      ['p50', (c) => c.summary.itl.p50],
      ['p90', (c) => c.summary.itl.p90],
      ['p99', (c) => c.summary.itl.p99],
    ]),
    distribution(runs, 'ttft-distribution', 'TTFT distribution (CDF)', 'ttft'),
    distribution(runs, 'itl-distribution', 'ITL distribution (CDF)', 'itl'),
    timeline(runs),
  ];
  return charts.filter((c): c is ChartSpec => c !== undefined);
}
