// `load.mode: autocannon`: raw non-streaming request rate, measured by autocannon (the reference HTTP load tool),
// for "how many requests per second can this server answer" questions. Output tokens are taken from the request
// (max_tokens with ignore_eos), since autocannon does not read bodies.
import autocannon from 'autocannon';
import { openaiBody } from '../clients/openai.ts';
import { tgiBody } from '../clients/tgi.ts';
import { emptyErrors } from '../metrics/aggregate.ts';
import { EMPTY_SUMMARY, type Summary } from '../metrics/summary.ts';
import type { Aggregate } from '../output/types.ts';
import type { Load } from '../scenario/schema.ts';
import type { StartedTarget } from '../targets/types.ts';
import type { RequestSpec } from '../workload/prompts.ts';

export interface AutocannonRun {
  summary: Aggregate;
  raw: Record<string, unknown>;
}

export async function runAutocannon(
  target: StartedTarget,
  load: Load,
  req: RequestSpec,
  signal?: AbortSignal,
): Promise<AutocannonRun> {
  const body =
    target.api === 'tgi'
      ? { ...tgiBody(req) }
      : { ...openaiBody(req, target.model), stream: false, stream_options: undefined };
  const path = target.api === 'tgi' ? '/generate' : '/v1/completions';
  const instance = autocannon({
    url: `${target.baseUrl}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify(body),
    connections: load.connections,
    ...(load.duration !== undefined ? { duration: load.duration / 1000 } : {}),
    ...(load.requests !== undefined ? { amount: load.requests } : {}),
    timeout: Math.max(1, Math.round(load.timeout / 1000)),
  });
  const stop = () => (instance as unknown as { stop(): void }).stop();
  signal?.addEventListener('abort', stop, { once: true });
  const r = await instance;
  signal?.removeEventListener('abort', stop);
  return { summary: fromAutocannon(r, req), raw: stripped(r) };
}

export function fromAutocannon(r: autocannon.Result, req: RequestSpec): Aggregate {
  const ok = r['2xx'];
  const durationS = r.duration;
  const errors = emptyErrors();
  errors.http4xx = r['4xx'];
  errors.http5xx = r['5xx'];
  errors.timeout = r.timeouts;
  errors.connection = Math.max(0, r.errors - r.timeouts);
  const failed = errors.http4xx + errors.http5xx + errors.timeout + errors.connection;
  const latency: Summary = {
    count: ok,
    mean: r.latency.mean,
    std: r.latency.stddev,
    min: r.latency.min,
    max: r.latency.max,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p95: (r.latency.p90 + r.latency.p97_5) / 2, // autocannon reports p90 and p97.5 only
    p99: r.latency.p99,
  };
  const per = (n: number) => (durationS > 0 ? n / durationS : 0);
  const output = req.ignoreEos ? ok * req.outputTokens : 0;
  return {
    durationS,
    requests: { measured: ok + failed, completed: ok, failed, cancelled: 0 },
    requestPerS: per(ok),
    outputTokPerS: per(output),
    inputTokPerS: per(ok * req.promptTokens),
    totalTokPerS: per(output + ok * req.promptTokens),
    errorRate: ok + failed > 0 ? failed / (ok + failed) : 0,
    errors,
    tokens: { input: ok * req.promptTokens, output, inexactRequests: ok, mismatchedRequests: 0 },
    ttft: { ...EMPTY_SUMMARY },
    itl: { ...EMPTY_SUMMARY },
    tpot: { ...EMPTY_SUMMARY },
    e2e: latency,
    dispatch: { ...EMPTY_SUMMARY },
  };
}

function stripped(r: autocannon.Result): Record<string, unknown> {
  const { requests, latency, throughput, duration, errors, timeouts, non2xx, connections, pipelining } = r;
  return { requests, latency, throughput, duration, errors, timeouts, non2xx, connections, pipelining };
}
