// Server-side numbers from a Prometheus text endpoint (/metrics of bench serve, vLLM, TGI): scraped before and
// after each configuration; counters are reported as deltas so one server can serve several configurations.

/** `name{labels} value` lines -> { "name{labels}": value }; comments, NaN and unparsable lines are skipped. */
export function parsePrometheus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(l);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out[m[1] as string] = v;
  }
  return out;
}

const COUNTER = /(_total|_count|_sum|_bucket(\{.*\})?)(\{.*\})?$/;

/** Counters as after - before; gauges as their value after. */
export function metricsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const name = k.replace(/\{.*\}$/, '');
    out[k] = COUNTER.test(name) ? v - (before[k] ?? 0) : v;
  }
  return out;
}

/**
 * Speculative decoding acceptance from server counters. Names looked for: bench serve's
 * bench_spec_proposed_tokens_total / bench_spec_accepted_tokens_total, and vLLM's
 * vllm:spec_decode_num_draft_tokens_total / vllm:spec_decode_num_accepted_tokens_total.
 */
export function specFromMetrics(
  delta: Record<string, number>,
): { proposed: number; accepted: number; acceptance: number } | undefined {
  let proposed = 0;
  let accepted = 0;
  for (const [k, v] of Object.entries(delta)) {
    const name = k.replace(/\{.*\}$/, '');
    if (!/spec/.test(name) || !/_total$/.test(name)) continue;
    if (/accepted/.test(name)) accepted += v;
    else if (/proposed|draft/.test(name)) proposed += v;
  }
  if (proposed <= 0) return undefined;
  return { proposed, accepted, acceptance: accepted / proposed };
}
