// Prompt handling shared by both dialects: text is tokenized with the engine's tokenizer (BOS when the
// vocabulary has one), token-id arrays are taken as-is after a range check, and every request is checked
// against the context window before it reaches the engine.
import type { Engine } from '../runtime/types.ts';
import { ApiError, badRequest } from './http-error.ts';

/**
 * Text longer than this many bytes per context position cannot fit whatever the tokenizer; rejecting it before
 * tokenizing keeps a 1 MiB prompt from costing the event loop a quadratic BPE merge pass.
 */
const MAX_PROMPT_BYTES_PER_POSITION = 64;

export function encodeText(engine: Engine, text: string, param: string): number[] {
  const limit = engine.config.maxSeqLen * MAX_PROMPT_BYTES_PER_POSITION;
  if (Buffer.byteLength(text) > limit) throw contextError(engine, `${param} is longer than ${limit} bytes`, param);
  // The tokenizer's own BOS setting, as the model's native runtime encodes (GPT-2-style vocabularies add none).
  return engine.tokenizer.encode(text);
}

export function checkTokenIds(engine: Engine, ids: readonly number[], param: string): number[] {
  const vocab = engine.tokenizer.vocabSize;
  const bad = ids.findIndex((id) => id >= vocab);
  if (bad >= 0) throw badRequest(`${param}[${bad}] = ${ids[bad]} is not a token id (vocabulary size ${vocab})`, param);
  return [...ids];
}

function contextError(engine: Engine, detail: string, param: string): ApiError {
  return new ApiError(
    400,
    `This model's maximum context length is ${engine.config.maxSeqLen} tokens; ${detail}. Shorten the prompt or lower the token limit.`,
    {
      param,
      code: 'context_length_exceeded',
    },
  );
}

/**
 * The number of tokens to generate: the requested limit when prompt + limit fits the context, otherwise a 400
 * (vLLM's behaviour); without a request, `fallback` capped to what the context leaves.
 */
export function resolveMaxTokens(
  engine: Engine,
  promptLen: number,
  requested: number | null | undefined,
  fallback: number | undefined,
  param: string,
): number {
  const ctx = engine.config.maxSeqLen;
  if (promptLen >= ctx) {
    throw contextError(engine, `the prompt has ${promptLen} tokens, leaving no room to generate`, 'prompt');
  }
  if (requested != null) {
    if (promptLen + requested > ctx) {
      throw contextError(
        engine,
        `you requested ${promptLen + requested} tokens (${promptLen} in the prompt, ${requested} to generate)`,
        param,
      );
    }
    return requested;
  }
  return Math.min(fallback ?? ctx, ctx - promptLen);
}

export function checkMinTokens(
  minTokens: number | null | undefined,
  maxTokens: number,
  param: string,
): number | undefined {
  if (minTokens == null) return undefined;
  if (minTokens > maxTokens)
    throw badRequest(`${param} (${minTokens}) must not exceed the token limit (${maxTokens})`, param, 'out_of_range');
  return minTokens;
}
