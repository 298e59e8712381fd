// One configuration (matrix point) against a started target: server metrics before and after, `repeats` load
// runs, and the combined result. A target that dies stops the load and marks the result partial.
import { runAutocannon } from '../load/autocannon.ts';
import { combineRepeats } from '../metrics/aggregate.ts';
import { encodeSet, HISTOGRAM_NAMES, newHistogramSet } from '../metrics/histogram.ts';
import { metricsDelta, specFromMetrics } from '../metrics/prometheus.ts';
import type { ConfigResult, RepeatResult } from '../output/types.ts';
import type { ConfigPoint } from '../scenario/load.ts';
import type { StartedTarget } from '../targets/types.ts';
import { requestSource } from '../workload/prompts.ts';
import type { RunEvents } from './events.ts';
import { measureRepeat, type RepeatData } from './measure.ts';

export interface ConfigRunOptions {
  scenarioDir: string;
  configs: number; // total points, for progress
  events?: RunEvents;
  abort?: AbortSignal; // Ctrl-C
  keepChunks?: boolean;
}

export async function runConfig(point: ConfigPoint, target: StartedTarget, o: ConfigRunOptions): Promise<ConfigResult> {
  const { load, workload, slo } = point.scenario;
  const stop = new AbortController();
  let died: string | undefined;
  target.onDeath((reason) => {
    died = reason;
    stop.abort();
  });
  const source = requestSource(workload, target.tokenizer, o.scenarioDir);
  const before = await target.scrapeMetrics();
  const repeats: RepeatResult[] = [];
  const data: RepeatData[] = [];
  let raw: Record<string, unknown> | undefined;

  for (let r = 0; r < load.repeats && !died && !o.abort?.aborted; r++) {
    o.events?.emit('config-start', {
      point,
      configs: o.configs,
      repeat: r,
      repeats: load.repeats,
      ...(load.requests !== undefined ? { plannedRequests: load.warmup + load.requests + load.cooldown } : {}),
      ...(load.duration !== undefined ? { durationMs: load.duration } : {}),
    });
    if (load.mode === 'autocannon') {
      const startedAt = new Date().toISOString();
      const ac = await runAutocannon(target, load, source(0), o.abort);
      raw = ac.raw;
      repeats.push({
        repeat: r,
        startedAt,
        summary: ac.summary,
        histograms: encodeSet(newHistogramSet()),
        timeline: { bucketMs: 500, outputTokens: [], completed: [], errors: [] },
        client: {
          eventLoopLagP50Ms: 0,
          eventLoopLagP99Ms: 0,
          eventLoopLagMaxMs: 0,
          cpuUtilization: 0,
          dispatchP99Ms: 0,
          warnings: [],
        },
      });
      continue;
    }
    const d = await measureRepeat({
      point,
      target,
      source,
      repeat: r,
      stop: stop.signal,
      ...(o.events ? { events: o.events } : {}),
      ...(o.abort ? { abort: o.abort } : {}),
      ...(o.keepChunks ? { keepChunks: true } : {}),
    });
    data.push(d);
    repeats.push({
      repeat: r,
      startedAt: d.startedAt,
      monotonicStartMs: d.monotonicStartMs,
      summary: d.summary,
      histograms: encodeSet(d.histograms),
      timeline: d.timeline,
      client: d.client,
    });
    for (const w of d.client.warnings) o.events?.emit('warning', { message: `${point.name}: ${w}` });
  }

  const after = died ? undefined : await target.scrapeMetrics();
  const records = data.flatMap((d) => d.records);
  const summary =
    load.mode === 'autocannon' && repeats.length > 0
      ? (repeats[repeats.length - 1] as RepeatResult).summary
      : combineRepeats(
          repeats.map((r) => r.summary),
          records,
          data.flatMap((d) => d.itl),
          slo,
        );
  const merged = newHistogramSet();
  for (const d of data) for (const n of HISTOGRAM_NAMES) merged[n].add(d.histograms[n]);

  const result: ConfigResult = {
    index: point.index,
    name: point.name,
    overrides: point.overrides,
    status: died || o.abort?.aborted || repeats.length < load.repeats ? 'partial' : 'ok',
    target: target.info,
    load,
    workload,
    summary,
    histograms: encodeSet(merged),
    repeats,
    requests: records,
  };
  // Ctrl-C also reaches the server (same process group), so a server that exits then was interrupted, not dead.
  if (o.abort?.aborted) result.failure = 'interrupted';
  else if (died) result.failure = died;
  if (raw) result.raw = { autocannon: raw };
  if (before && after) {
    const delta = metricsDelta(before, after);
    result.serverMetrics = { before, after, delta };
    const spec = specFromMetrics(delta);
    if (spec) result.summary.spec = spec;
  }
  return result;
}
