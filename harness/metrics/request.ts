// Per-request metrics from raw client times (definitions in docs/metrics.md). Every latency is measured from the
// request's *scheduled* send time, so a client that falls behind its schedule cannot hide server queueing
// (coordinated omission); the client's own lateness is recorded separately as the dispatch delay.
import type { RequestError, StreamOutcome } from '../clients/types.ts';
import type { RequestSpec } from '../workload/prompts.ts';

export type Phase = 'warmup' | 'measured' | 'cooldown';

export interface RequestRecord {
  i: number; // index in the repeat's request sequence
  repeat: number;
  phase: Phase;
  scheduledMs: number; // from the repeat's start
  dispatchMs: number; // actual send - scheduled send: the client's own delay
  ttftMs?: number;
  e2eMs: number;
  tpotMs?: number;
  itlMaxMs?: number;
  promptTokens: number; // as the harness counted them
  promptTokensReported?: number; // as the server reported them (usage)
  outputTokens: number; // counted from the stream
  outputTokensReported?: number;
  tokensExact: boolean;
  chunks: number;
  finishReason?: string;
  error?: RequestError;
  /** Opt-in: each token chunk's arrival (ms after the scheduled send) and its token count. */
  chunkMs?: number[];
  chunkTokens?: number[];
}

export interface Derived {
  record: RequestRecord;
  itl: number[]; // one inter-token latency per token after the first
}

/**
 * ITL: a chunk carrying n tokens that arrives g ms after the previous chunk gives n latencies of g/n. Extra
 * tokens in the first chunk arrived together with the first token: their latency is 0.
 */
export function derive(
  out: StreamOutcome,
  scheduledAt: number,
  t0: number,
  spec: Pick<RequestSpec, 'promptTokens'>,
  meta: { i: number; repeat: number; phase: Phase; keepChunks?: boolean },
): Derived {
  const times = out.chunkTimes;
  const tokens = out.chunkTokens;
  const itl: number[] = [];
  let outputTokens = 0;
  let itlMax = 0;
  for (let k = 0; k < times.length; k++) {
    const n = tokens[k] as number;
    outputTokens += n;
    if (k === 0) {
      for (let j = 1; j < n; j++) itl.push(0);
      continue;
    }
    const per = ((times[k] as number) - (times[k - 1] as number)) / n;
    if (per > itlMax) itlMax = per;
    for (let j = 0; j < n; j++) itl.push(per);
  }
  const record: RequestRecord = {
    i: meta.i,
    repeat: meta.repeat,
    phase: meta.phase,
    scheduledMs: scheduledAt - t0,
    dispatchMs: Math.max(0, out.sentAt - scheduledAt),
    e2eMs: out.endAt - scheduledAt,
    promptTokens: spec.promptTokens,
    outputTokens,
    tokensExact: out.tokensExact,
    chunks: times.length,
  };
  if (times.length > 0) {
    const first = times[0] as number;
    record.ttftMs = first - scheduledAt;
    if (outputTokens > 1) {
      record.tpotMs = ((times[times.length - 1] as number) - first) / (outputTokens - 1);
      record.itlMaxMs = itlMax;
    }
  }
  if (out.promptTokensReported !== undefined) record.promptTokensReported = out.promptTokensReported;
  if (out.outputTokensReported !== undefined) record.outputTokensReported = out.outputTokensReported;
  if (out.finishReason !== undefined) record.finishReason = out.finishReason;
  if (out.error) record.error = out.error;
  if (meta.keepChunks) {
    record.chunkMs = times.map((t) => t - scheduledAt);
    record.chunkTokens = [...tokens];
  }
  return { record, itl };
}
