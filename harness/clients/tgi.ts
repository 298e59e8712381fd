// TGI `/generate_stream` dialect: one event per generated token; the last event carries `generated_text` and,
// with `details: true`, the generated token count and finish reason.
import type { RequestSpec } from '../workload/prompts.ts';
import { MalformedStream, type SseDialect, sseClient } from './sse.ts';
import type { ClientOptions, StreamClient } from './types.ts';

interface TgiEvent {
  token?: { id?: number; text?: string; special?: boolean };
  generated_text?: string | null;
  details?: { finish_reason?: string; generated_tokens?: number; prefill?: unknown[] } | null;
  error?: string;
}

export function tgiBody(req: RequestSpec): Record<string, unknown> {
  const sample = req.temperature > 0;
  return {
    inputs: req.prompt,
    parameters: {
      max_new_tokens: req.outputTokens,
      details: true,
      do_sample: sample,
      ...(sample ? { temperature: req.temperature } : {}),
      ...(req.topP !== undefined && req.topP < 1 ? { top_p: req.topP } : {}),
      ...(req.topK ? { top_k: req.topK } : {}),
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      // bench serve honours this; TGI itself ignores unknown parameters and stops at EOS.
      ...(req.ignoreEos ? { ignore_eos: true } : {}),
    },
  };
}

function dialect(): SseDialect {
  return {
    onData(data, t, out) {
      let e: TgiEvent;
      try {
        e = JSON.parse(data) as TgiEvent;
      } catch {
        throw new MalformedStream(`invalid JSON in stream: ${data.slice(0, 80)}`);
      }
      if (e === null || typeof e !== 'object')
        throw new MalformedStream(`unexpected stream event: ${data.slice(0, 80)}`);
      if (e.error) throw new MalformedStream(`server error in stream: ${e.error}`, 'http5xx');
      if (!e.token) throw new MalformedStream(`event without a token: ${data.slice(0, 80)}`);
      out.chunkTimes.push(t);
      out.chunkTokens.push(1);
      if (e.details) {
        if (e.details.generated_tokens !== undefined) out.outputTokensReported = e.details.generated_tokens;
        if (e.details.finish_reason) out.finishReason = e.details.finish_reason;
      }
      return e.generated_text !== undefined && e.generated_text !== null;
    },
  };
}

export function tgiClient(opts: ClientOptions): StreamClient {
  return sseClient(opts, '/generate_stream', tgiBody, dialect);
}
