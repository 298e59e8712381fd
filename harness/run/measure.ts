// One repeat of one configuration: drive the load, turn each outcome into a record, fill histograms and the
// throughput timeline, and summarise. Everything here runs on the harness's event loop, so it stays cheap.
import { createClient } from '../clients/index.ts';
import { generateLoad } from '../load/generator.ts';
import { type ClientHealth, startMonitor } from '../load/monitor.ts';
import { aggregate } from '../metrics/aggregate.ts';
import { type HistogramSet, newHistogramSet, recordMs } from '../metrics/histogram.ts';
import { derive, type Phase, type RequestRecord } from '../metrics/request.ts';
import type { Aggregate, Timeline } from '../output/types.ts';
import type { ConfigPoint } from '../scenario/load.ts';
import type { StartedTarget } from '../targets/types.ts';
import type { RequestSource } from '../workload/prompts.ts';
import type { RunEvents } from './events.ts';

export interface RepeatData {
  startedAt: string;
  monotonicStartMs: number;
  records: RequestRecord[];
  itl: number[];
  histograms: HistogramSet;
  timeline: Timeline;
  client: ClientHealth;
  summary: Aggregate;
}

export interface MeasureInput {
  point: ConfigPoint;
  target: StartedTarget;
  source: RequestSource;
  repeat: number;
  events?: RunEvents;
  stop?: AbortSignal; // stop issuing (target died)
  abort?: AbortSignal; // abort in-flight requests too (Ctrl-C)
  keepChunks?: boolean; // keep per-chunk times in records (accuracy tests, debugging)
  timelineBucketMs?: number;
}

export async function measureRepeat(m: MeasureInput): Promise<RepeatData> {
  const { load, slo } = m.point.scenario;
  const bucketMs = m.timelineBucketMs ?? 500;
  const total = load.requests === undefined ? undefined : load.warmup + load.requests + load.cooldown;
  const phase = (i: number): Phase =>
    i < load.warmup
      ? 'warmup'
      : load.requests !== undefined && i >= load.warmup + load.requests
        ? 'cooldown'
        : 'measured';
  const client = createClient(m.target.api, {
    baseUrl: m.target.baseUrl,
    ...(m.target.model ? { model: m.target.model } : {}),
    headers: m.target.headers,
    connections: load.mode === 'closed' ? (load.concurrency ?? 1) : (load.concurrency ?? null),
    timeoutMs: load.timeout,
  });
  const records: RequestRecord[] = [];
  const itl: number[] = [];
  const histograms = newHistogramSet();
  const timeline: Timeline = { bucketMs, outputTokens: [], completed: [], errors: [] };
  const bump = (series: number[], t: number, n: number) => {
    const b = Math.max(0, Math.floor((t - t0) / bucketMs));
    while (series.length <= b) series.push(0);
    series[b] = (series[b] as number) + n;
  };
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const monotonicStartMs = Number(process.hrtime.bigint()) / 1e6 - (performance.now() - t0);
  const monitor = startMonitor();

  const job = async (i: number, scheduledAt: number, signal: AbortSignal) => {
    const p = phase(i);
    const spec = m.source(i);
    const out = await client.send(spec, signal);
    const { record, itl: gaps } = derive(out, scheduledAt, t0, spec, {
      i,
      repeat: m.repeat,
      phase: p,
      keepChunks: m.keepChunks,
    });
    records.push(record);
    if (p === 'measured') {
      if (record.error) {
        if (record.error.kind !== 'cancelled') bump(timeline.errors, out.endAt, 1);
      } else {
        for (const g of gaps) {
          itl.push(g);
          recordMs(histograms.itl, g);
        }
        if (record.ttftMs !== undefined) recordMs(histograms.ttft, record.ttftMs);
        if (record.tpotMs !== undefined) recordMs(histograms.tpot, record.tpotMs);
        recordMs(histograms.e2e, record.e2eMs);
        for (let k = 0; k < out.chunkTimes.length; k++)
          bump(timeline.outputTokens, out.chunkTimes[k] as number, out.chunkTokens[k] as number);
        bump(timeline.completed, out.endAt, 1);
      }
      recordMs(histograms.dispatch, record.dispatchMs);
    }
    m.events?.emit('request', { point: m.point, record });
  };

  try {
    await generateLoad(
      {
        mode: load.mode === 'open' ? 'open' : 'closed',
        ...(load.concurrency !== undefined ? { concurrency: load.concurrency } : {}),
        ...(load.rate !== undefined ? { rate: load.rate } : {}),
        arrival: load.arrival,
        burstiness: load.burstiness,
        seed: m.point.scenario.workload.seed + m.repeat,
        ...(total !== undefined ? { total } : {}),
        ...(load.duration !== undefined ? { durationMs: load.duration } : {}),
        startAt: t0,
      },
      job,
      { ...(m.stop ? { stop: m.stop } : {}), ...(m.abort ? { abort: m.abort } : {}) },
    );
  } finally {
    await client.close();
  }
  records.sort((a, b) => a.i - b.i);
  const summary = aggregate(records, itl, slo);
  const health = monitor.stop(summary.dispatch.p99, summary.ttft.p50);
  return { startedAt, monotonicStartMs, records, itl, histograms, timeline, client: health, summary };
}
