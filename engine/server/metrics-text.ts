// /metrics in the Prometheus text exposition format (version 0.0.4): the engine's counters (requests, tokens,
// queue depth, batch occupancy, KV blocks, step times) and the server's own (HTTP requests by route and status,
// admission, cancellations). Names are prefixed `bench_`; the harness scrapes them during runs.
import type { EngineMetrics } from '../runtime/types.ts';
import type { ServerCounters } from './generation.ts';

type Sample = [labels: Record<string, string>, value: number];

const esc = (v: string): string => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

function family(
  out: string[],
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: Sample[] | number,
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const list: Sample[] = typeof samples === 'number' ? [[{}, samples]] : samples;
  for (const [labels, value] of list) {
    const keys = Object.keys(labels);
    const l = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${esc(labels[k]!)}"`).join(',')}}`;
    out.push(`${name}${l} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
}

export interface ServerGauges {
  inFlight: number;
  maxQueue: number;
}

export function renderMetrics(m: EngineMetrics, c: ServerCounters, g: ServerGauges): string {
  const out: string[] = [];
  family(out, 'bench_engine_requests_total', 'counter', 'Requests the engine accepted.', m.requestsTotal);
  family(out, 'bench_engine_requests_running', 'gauge', 'Sequences in the running batch.', m.requestsRunning);
  family(
    out,
    'bench_engine_requests_waiting',
    'gauge',
    "Sequences in the engine's queue (queue depth).",
    m.requestsWaiting,
  );
  family(
    out,
    'bench_engine_prompt_tokens_total',
    'counter',
    'Prompt tokens the engine prefilled.',
    m.promptTokensTotal,
  );
  family(
    out,
    'bench_engine_generation_tokens_total',
    'counter',
    'Tokens the engine generated.',
    m.generatedTokensTotal,
  );
  family(out, 'bench_engine_steps_total', 'counter', 'Scheduler steps run.', m.stepsTotal);
  family(
    out,
    'bench_engine_step_seconds_total',
    'counter',
    'Time spent in scheduler steps; divide by steps_total for the mean step time.',
    m.stepMsTotal / 1000,
  );
  family(
    out,
    'bench_engine_batch_occupancy_ratio',
    'gauge',
    'Running sequences in the last step divided by max batch.',
    m.batchOccupancy,
  );
  family(out, 'bench_engine_kv_blocks_total', 'gauge', 'KV cache blocks.', m.kvBlocksTotal);
  family(out, 'bench_engine_kv_blocks_used', 'gauge', 'KV cache blocks held by sequences.', m.kvBlocksUsed);
  family(
    out,
    'bench_engine_kv_blocks_free',
    'gauge',
    'KV cache blocks on the free list.',
    m.kvBlocksTotal - m.kvBlocksUsed,
  );
  family(
    out,
    'bench_engine_preemptions_total',
    'counter',
    'Sequences preempted for lack of KV blocks.',
    m.preemptionsTotal,
  );

  const http: Sample[] = [...c.httpRequests].map(([k, v]) => {
    const [route = '', status = ''] = k.split(' ');
    return [{ route, status }, v];
  });
  family(out, 'bench_http_requests_total', 'counter', 'HTTP requests answered, by route and status.', http);
  family(
    out,
    'bench_server_requests_in_flight',
    'gauge',
    'Generation requests admitted and not finished (waiting + running).',
    g.inFlight,
  );
  family(
    out,
    'bench_server_max_queue',
    'gauge',
    'Admission limit (--max-queue); requests past it get 429.',
    g.maxQueue,
  );
  family(
    out,
    'bench_server_rejected_total',
    'counter',
    'Requests refused before reaching the engine, by reason.',
    [...c.rejected].map(([reason, v]) => [{ reason }, v]),
  );
  // Speculative decoding, summed over finished requests (the harness reads these names).
  family(out, 'bench_spec_proposed_tokens_total', 'counter', 'Draft tokens proposed.', c.spec.proposed);
  family(out, 'bench_spec_accepted_tokens_total', 'counter', 'Draft tokens accepted.', c.spec.accepted);
  family(
    out,
    'bench_server_completed_total',
    'counter',
    'Generations that ran to a stop or length finish.',
    c.completed,
  );
  family(
    out,
    'bench_server_cancelled_total',
    'counter',
    'Generations aborted, by reason (client disconnect, shutdown, engine).',
    [...c.cancelled].map(([reason, v]) => [{ reason }, v]),
  );
  family(out, 'bench_server_prompt_tokens_total', 'counter', 'Prompt tokens of admitted requests.', c.promptTokens);
  family(
    out,
    'bench_server_generation_tokens_total',
    'counter',
    'Tokens streamed or returned to clients.',
    c.generatedTokens,
  );
  family(
    out,
    'bench_server_engine_errors_total',
    'counter',
    'Generations that failed inside the engine.',
    c.engineErrors,
  );
  return `${out.join('\n')}\n`;
}
