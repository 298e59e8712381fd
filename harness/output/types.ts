// results.json: the canonical output of a run. Complete enough to re-render every report (`bench report`),
// compare runs and gate on them. Bump RESULTS_SCHEMA_VERSION on any incompatible change.
import type { ErrorKind } from '../clients/types.ts';
import type { ClientHealth } from '../load/monitor.ts';
import type { EncodedHistograms } from '../metrics/histogram.ts';
import type { RequestRecord } from '../metrics/request.ts';
import type { Summary } from '../metrics/summary.ts';
import type { Scenario } from '../scenario/schema.ts';

export const RESULTS_SCHEMA_VERSION = 1;
export const RESULTS_KIND = 'llm-bench-results';

export interface Environment {
  harnessVersion: string;
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  gitCommit?: string;
}

/** What the target was; never holds credentials (API keys live only in the process environment). */
export interface TargetInfo {
  kind: 'engine' | 'url';
  url: string; // base URL without user info
  api: 'openai' | 'tgi';
  model?: string;
  tokenizer: { name: string; exact: boolean };
  engine?: Record<string, unknown>; // toggles requested (engine targets)
  server?: Record<string, unknown>; // what /info reported (adapter, toggles in effect, model id, ...)
  adapter?: string; // GPU name for reports
  memoryBytes?: number;
  synthetic?: boolean;
}

export type ErrorCounts = Record<ErrorKind, number>;

export interface Aggregate {
  durationS: number; // measured window: first measured send to last measured completion
  requests: { measured: number; completed: number; failed: number; cancelled: number };
  requestPerS: number;
  outputTokPerS: number;
  inputTokPerS: number;
  totalTokPerS: number;
  goodputPerS?: number;
  goodputFraction?: number;
  sloMet?: boolean;
  sloFailures?: string[];
  errorRate: number;
  errors: ErrorCounts;
  tokens: {
    input: number;
    output: number;
    inputReported?: number;
    outputReported?: number;
    inexactRequests: number; // per-chunk token counts were estimated
    mismatchedRequests: number; // counted output tokens != server-reported
  };
  ttft: Summary;
  itl: Summary;
  tpot: Summary;
  e2e: Summary;
  dispatch: Summary;
  spec?: { proposed: number; accepted: number; acceptance: number };
  /** 95% bootstrap confidence intervals over repeats (present when repeats > 1), keyed by metric name. */
  ci?: Record<string, [number, number]>;
}

export interface Timeline {
  bucketMs: number;
  outputTokens: number[]; // tokens received in each bucket (measured requests)
  completed: number[];
  errors: number[];
}

export interface RepeatResult {
  repeat: number;
  startedAt: string;
  /** CLOCK_MONOTONIC (process.hrtime) at the repeat's start, in ms: lines request times up with server-side
   *  traces taken on the same host (scheduled time of a request = this + its scheduledMs). */
  monotonicStartMs?: number;
  summary: Aggregate;
  histograms: EncodedHistograms;
  timeline: Timeline;
  client: ClientHealth;
}

export type ConfigStatus = 'ok' | 'partial' | 'failed';

export interface ConfigResult {
  index: number;
  name: string;
  overrides: Record<string, unknown>;
  status: ConfigStatus;
  failure?: string;
  target: TargetInfo;
  load: Scenario['load'];
  workload: Scenario['workload'];
  summary: Aggregate; // all repeats together
  histograms: EncodedHistograms; // merged over repeats
  repeats: RepeatResult[];
  serverMetrics?: { before: Record<string, number>; after: Record<string, number>; delta: Record<string, number> };
  raw?: { autocannon: Record<string, unknown> }; // autocannon mode keeps its own result
  requests: RequestRecord[];
}

export interface ResultsFile {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  kind: typeof RESULTS_KIND;
  partial: boolean;
  interrupted: boolean;
  startedAt: string;
  finishedAt?: string;
  scenario: {
    name: string;
    title?: string;
    description?: string;
    file: string;
    sets: string[];
    source: string;
    resolved: Scenario; // the first configuration, defaults filled in
  };
  environment: Environment;
  configs: ConfigResult[];
  warnings: string[];
}
