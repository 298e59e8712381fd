// OpenAI `/v1/completions` streaming dialect (vLLM, SGLang, llama.cpp server, Ollama, and `bench serve`).
// Tokens per chunk come, in order of preference, from per-chunk usage (vLLM's continuous_usage_stats), from
// `token_ids` on the choice, from logprobs tokens; failing those each text chunk counts as one token and the
// final usage.completion_tokens is apportioned over the chunks by text length (marked inexact).
import type { RequestSpec } from '../workload/prompts.ts';
import { MalformedStream, type SseDialect, sseClient } from './sse.ts';
import type { ClientOptions, StreamClient, StreamOutcome } from './types.ts';

interface Choice {
  text?: string;
  finish_reason?: string | null;
  token_ids?: unknown[];
  logprobs?: { tokens?: unknown[] } | null;
}
interface Chunk {
  choices?: Choice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

export function openaiBody(req: RequestSpec, model: string | undefined): Record<string, unknown> {
  return {
    ...(model !== undefined ? { model } : {}),
    prompt: req.prompt,
    max_tokens: req.outputTokens,
    temperature: req.temperature,
    ...(req.topP !== undefined ? { top_p: req.topP } : {}),
    ...(req.topK !== undefined ? { top_k: req.topK } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
    // vLLM/SGLang/bench serve extensions for fixed output lengths; servers that do not know them ignore them.
    ...(req.ignoreEos ? { ignore_eos: true, min_tokens: req.outputTokens } : {}),
    stream: true,
    stream_options: { include_usage: true, continuous_usage_stats: true },
  };
}

function dialect(): SseDialect {
  let lastCompletion = 0;
  const textLens: number[] = [];
  return {
    onData(data, t, out) {
      if (data === '[DONE]') return true;
      let c: Chunk;
      try {
        c = JSON.parse(data) as Chunk;
      } catch {
        throw new MalformedStream(`invalid JSON in stream: ${data.slice(0, 80)}`);
      }
      if (c === null || typeof c !== 'object')
        throw new MalformedStream(`unexpected stream event: ${data.slice(0, 80)}`);
      if (c.error) {
        const msg = typeof c.error === 'string' ? c.error : (c.error.message ?? 'error');
        throw new MalformedStream(`server error in stream: ${msg}`, 'http5xx');
      }
      const usage = c.usage ?? undefined;
      if (usage?.prompt_tokens !== undefined) out.promptTokensReported = usage.prompt_tokens;
      const choice = c.choices?.[0];
      if (choice === undefined) {
        if (usage?.completion_tokens !== undefined) out.outputTokensReported = usage.completion_tokens;
        if (!Array.isArray(c.choices) && !usage)
          throw new MalformedStream(`chunk without choices: ${data.slice(0, 80)}`);
        return false;
      }
      let n: number;
      if (typeof usage?.completion_tokens === 'number') {
        n = usage.completion_tokens - lastCompletion;
        lastCompletion = usage.completion_tokens;
        out.outputTokensReported = usage.completion_tokens;
      } else if (Array.isArray(choice.token_ids)) {
        n = choice.token_ids.length;
      } else if (Array.isArray(choice.logprobs?.tokens)) {
        n = choice.logprobs.tokens.length;
      } else {
        n = choice.text ? 1 : 0;
        out.tokensExact = false;
      }
      if (choice.finish_reason) out.finishReason = choice.finish_reason;
      if (n > 0) {
        out.chunkTimes.push(t);
        out.chunkTokens.push(n);
        textLens.push(choice.text?.length ?? 0);
      }
      return false;
    },
    finish(out) {
      if (!out.tokensExact && out.outputTokensReported !== undefined)
        apportion(out, textLens, out.outputTokensReported);
    },
  };
}

/**
 * Spreads `total` tokens over the chunks in proportion to their text length (largest remainder, at least one
 * token per chunk when there are enough): the best estimate of multi-token chunks when the server reports only
 * a total.
 */
export function apportion(out: StreamOutcome, textLens: number[], total: number): void {
  const k = out.chunkTokens.length;
  if (k === 0 || total === out.chunkTokens.reduce((a, b) => a + b, 0)) return;
  const sumLen = textLens.reduce((a, b) => a + b, 0);
  const raw = textLens.map((l) => (sumLen > 0 ? (total * l) / sumLen : total / k));
  const floor = total >= k ? 1 : 0;
  const counts = raw.map((r) => Math.max(floor, Math.floor(r)));
  let diff = total - counts.reduce((a, b) => a + b, 0);
  // Hand out what is left by largest remainder, or take back from the chunks furthest above their share.
  const order = raw.map((r, i) => [r - (counts[i] as number), i] as const).sort((a, b) => b[0] - a[0]);
  for (let j = 0; diff !== 0 && j < order.length * 4; j++) {
    const [, i] =
      diff > 0
        ? (order[j % order.length] as readonly [number, number])
        : (order[order.length - 1 - (j % order.length)] as readonly [number, number]);
    if (diff > 0) {
      counts[i] = (counts[i] as number) + 1;
      diff--;
    } else if ((counts[i] as number) > floor) {
      counts[i] = (counts[i] as number) - 1;
      diff++;
    }
  }
  out.chunkTokens = counts;
}

export function openaiClient(opts: ClientOptions): StreamClient {
  return sseClient(opts, '/v1/completions', (req) => openaiBody(req, opts.model), dialect);
}
