// How the harness counts prompt tokens. For the built-in engine the count is exact (its own tokenizer, injected);
// for remote servers it is an estimate, and the server's reported usage.prompt_tokens is recorded next to it.

export interface PromptTokenizer {
  readonly name: string;
  /** True when `count` is what the target itself will count (reports say "exact" or "approx."). */
  readonly exact: boolean;
  /** Tokens the target sees for this prompt, BOS included when the target adds one. */
  count(text: string): number;
  /** Optional: ids and text for tokenizers that are not additive over concatenation (BPE). */
  encode?(text: string): number[];
  decode?(ids: readonly number[]): string;
}

/** The presets' byte-level tokenizer: one token per UTF-8 byte, plus BOS. */
export function byteLevelTokenizer(bos = true): PromptTokenizer {
  return {
    name: 'byte-level',
    exact: true,
    count: (text) => Buffer.byteLength(text, 'utf8') + (bos ? 1 : 0),
  };
}

/**
 * Remote targets: ~4 characters of English per token (OpenAI's rule of thumb, close for Llama/GPT BPEs on the
 * word lists the synthetic prompts use). Lengths are approximate; results carry the server's own counts.
 */
export function approximateTokenizer(charsPerToken = 4): PromptTokenizer {
  return {
    name: `approx (${charsPerToken} chars/token)`,
    exact: false,
    count: (text) => Math.max(1, Math.round(text.length / charsPerToken)),
  };
}

/** Adapts the engine's tokenizer (engine/tokenizer/types.ts shape) for exact prompt lengths. */
export function engineTokenizer(t: {
  encode(text: string, options?: { bos?: boolean }): number[];
  decode(ids: readonly number[], prev?: number): string;
  bos: number;
}): PromptTokenizer {
  return {
    name: 'engine',
    exact: true,
    count: (text) => t.encode(text, { bos: t.bos >= 0 }).length,
    encode: (text) => t.encode(text, { bos: false }),
    decode: (ids) => t.decode(ids),
  };
}

/** Picks the tokenizer for a model: exact for presets (byte-level); the caller can inject others. */
export type TokenizerFactory = (model: string) => Promise<PromptTokenizer | undefined>;

export const presetTokenizers: TokenizerFactory = async (model) =>
  model.startsWith('preset:') ? byteLevelTokenizer(true) : undefined;
