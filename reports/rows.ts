// The summary table every report shows, one row per configuration, in the style of the TGI A6000/4090 table
// (#, GPU, memory, engine, threads, time, speculate) plus throughput and latency percentiles.
import type { ConfigResult, ResultsFile } from '../harness/output/types.ts';
import { bytes, ms, num, percent } from './format.ts';

export interface Column {
  key: string;
  title: string;
  numeric: boolean;
  value(c: ConfigResult): string | number | undefined;
  text(c: ConfigResult): string;
}

const failed = (c: ConfigResult) => c.status === 'failed';
const metric = (f: (c: ConfigResult) => number | undefined, show: (v: number | undefined) => string) => ({
  numeric: true,
  value: (c: ConfigResult) => (failed(c) ? undefined : f(c)),
  text: (c: ConfigResult) => (failed(c) ? '–' : show(f(c))),
});

export function gpuOf(c: ConfigResult): string {
  return c.target.adapter ?? (c.target.kind === 'url' ? 'remote' : 'unknown');
}

export function engineOf(c: ConfigResult): string {
  const t = c.target;
  if (t.kind === 'url') return `${t.api}${t.model ? `: ${t.model}` : ''}`;
  const e = t.engine ?? {};
  const toggles = Object.entries(e)
    .filter(([k, v]) => k !== 'model' && k !== 'spec' && k !== 'specDepth' && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  return `bench ${String(e.model ?? t.model ?? '')}${toggles.length ? ` (${toggles.join(', ')})` : ''}${t.synthetic ? ' [synthetic]' : ''}`;
}

export function threadsOf(c: ConfigResult): string {
  const l = c.load;
  if (l.mode === 'autocannon') return `${l.connections} conn`;
  if (l.mode === 'open') return `${l.rate}/s ${l.arrival}${l.concurrency ? ` ≤${l.concurrency}` : ''}`;
  return String(l.concurrency ?? 1);
}

export function speculateOf(c: ConfigResult): string {
  const e = c.target.engine as { spec?: string; specDepth?: number } | undefined;
  if (!e?.spec || e.spec === 'none') return e?.specDepth ? `k=${e.specDepth}` : '–';
  return `${e.spec}${e.specDepth !== undefined ? ` k=${e.specDepth}` : ''}`;
}

/**
 * Memory-bandwidth utilisation of decode: weight bytes read per step (bench serve's /info) x steps per second
 * (1 / median inter-token latency) / the device's measured copy bandwidth. A step reads the weights once whatever
 * the batch, so this holds at any concurrency; with speculative decoding a step yields several tokens and the
 * inter-token latency no longer times a step, so it is left out there (as for servers that do not say).
 */
export function mbuOf(c: ConfigResult): number | undefined {
  const s = c.target.server;
  const bytesPerStep = s?.weightBytesPerToken;
  const gbps = s?.deviceGBps;
  const spec = (c.target.engine as { spec?: string; specDepth?: number } | undefined) ?? {};
  const speculating = spec.spec !== undefined && spec.spec !== 'none' && spec.specDepth !== 0;
  const itl = nz(c.summary.itl);
  if (typeof bytesPerStep !== 'number' || typeof gbps !== 'number' || gbps <= 0 || speculating || !itl)
    return undefined;
  return ((1000 / itl) * bytesPerStep) / (gbps * 1e9);
}

export const COLUMNS: Column[] = [
  { key: 'index', title: '#', numeric: true, value: (c) => c.index + 1, text: (c) => String(c.index + 1) },
  { key: 'name', title: 'config', numeric: false, value: (c) => c.name, text: (c) => c.name },
  { key: 'gpu', title: 'GPU', numeric: false, value: gpuOf, text: gpuOf },
  {
    key: 'memory',
    title: 'memory',
    numeric: true,
    value: (c) => c.target.memoryBytes,
    text: (c) => bytes(c.target.memoryBytes),
  },
  { key: 'engine', title: 'engine', numeric: false, value: engineOf, text: engineOf },
  { key: 'threads', title: 'threads', numeric: false, value: threadsOf, text: threadsOf },
  {
    key: 'timeS',
    title: 'time (s)',
    ...metric(
      (c) => c.summary.durationS,
      (v) => num(v, 3),
    ),
  },
  { key: 'speculate', title: 'speculate', numeric: false, value: speculateOf, text: speculateOf },
  {
    key: 'outputTokPerS',
    title: 'tok/s',
    ...metric(
      (c) => c.summary.outputTokPerS,
      (v) => num(v),
    ),
  },
  { key: 'mbu', title: 'MBU', ...metric(mbuOf, percent) },
  {
    key: 'requestPerS',
    title: 'req/s',
    ...metric(
      (c) => c.summary.requestPerS,
      (v) => num(v),
    ),
  },
  { key: 'ttftP50Ms', title: 'TTFT p50 (ms)', ...metric((c) => nz(c.summary.ttft), ms) },
  { key: 'ttftP99Ms', title: 'TTFT p99 (ms)', ...metric((c) => nz(c.summary.ttft, 'p99'), ms) },
  { key: 'itlP50Ms', title: 'ITL p50 (ms)', ...metric((c) => nz(c.summary.itl), ms) },
  { key: 'itlP99Ms', title: 'ITL p99 (ms)', ...metric((c) => nz(c.summary.itl, 'p99'), ms) },
  { key: 'e2eP50Ms', title: 'e2e p50 (ms)', ...metric((c) => nz(c.summary.e2e), ms) },
  {
    key: 'errors',
    title: 'errors',
    numeric: true,
    value: (c) => c.summary.requests.failed,
    text: (c) => (failed(c) ? 'failed' : `${c.summary.requests.failed}${c.status === 'partial' ? ' (partial)' : ''}`),
  },
];

function nz(s: { count: number; p50: number; p99: number }, k: 'p50' | 'p99' = 'p50'): number | undefined {
  return s.count > 0 ? s[k] : undefined;
}

export function tableRows(results: ResultsFile): string[][] {
  return results.configs.map((c) => COLUMNS.map((col) => col.text(c)));
}

export function reportTitle(results: ResultsFile): string {
  return results.scenario.title ?? `bench run: ${results.scenario.name}`;
}
