// The tokenizer embedded in a GGUF file's metadata (tokenizer.ggml.*), read the way llama.cpp's llama_vocab::load
// does: SentencePiece ("llama") and byte-level BPE ("gpt2") models, token types, special ids, add_bos/add_eos.

import { BenchError } from '../errors.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import { BpeMerges, BpeTokenizer } from './bpe.ts';
import { preTokenizerSpec } from './pretokenize.ts';
import { SpmTokenizer } from './spm.ts';
import { attrFromTokenType, type SpecialConfig, TokenAttr, Vocab } from './vocab.ts';

export type GgufTokenizer = SpmTokenizer | BpeTokenizer;

function fail(path: string, field: string, cause: string): never {
  throw new BenchError('BAD_TOKENIZER', `${path}: ${field}: ${cause}`);
}

function readVocab(md: GgufMetadata): Vocab {
  const path = md.path;
  const tokens = md.strings('tokenizer.ggml.tokens');
  if (!tokens) fail(path, 'tokenizer.ggml.tokens', 'missing; the file has no tokenizer, pass one with --tokenizer');
  const n = tokens.length;
  const rawScores = md.numbers('tokenizer.ggml.scores');
  if (rawScores && rawScores.length < n)
    fail(path, 'tokenizer.ggml.scores', `${rawScores.length} scores for ${n} tokens`);
  const types = md.numbers('tokenizer.ggml.token_type');
  if (types && types.length < n) fail(path, 'tokenizer.ggml.token_type', `${types.length} types for ${n} tokens`);
  const scores = new Float32Array(n);
  if (rawScores) for (let i = 0; i < n; i++) scores[i] = rawScores[i]!;
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++) attrs[i] = types ? attrFromTokenType(types[i]!) : TokenAttr.NORMAL;
  const pieces = tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t)); // as llama.cpp, so ids stay distinct
  for (let i = 0; i < n; i++) if (CONTROL_BY_TEXT.has(pieces[i]!)) attrs[i]! |= TokenAttr.CONTROL;
  return new Vocab(pieces, scores, attrs);
}

function specialId(md: GgufMetadata, key: string, fallback: number, n: number): number {
  const v = md.number(`tokenizer.ggml.${key}`);
  if (v === undefined) return fallback < n ? fallback : -1;
  if (!Number.isInteger(v) || v < 0 || v >= n) return fallback < n ? fallback : -1; // llama.cpp: warn, keep default
  return v;
}

/** llama.cpp marks end-of-turn style tokens control even when a converter forgot to (auto-detection by text). */
const CONTROL_BY_TEXT = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '<|eom_id|>',
]);

export function tokenizerFromGguf(md: GgufMetadata): GgufTokenizer {
  const path = md.path;
  const model = md.string('tokenizer.ggml.model');
  if (model === undefined)
    fail(path, 'tokenizer.ggml.model', 'missing; the file has no tokenizer, pass one with --tokenizer');
  const vocab = readVocab(md);
  const n = vocab.size;
  const name = (md.string('general.name') ?? '').toLowerCase();
  if (name.includes('phi-3') || name.includes('phi3')) markPhi3Strip(vocab);

  if (model === 'llama') {
    const special: SpecialConfig = {
      bos: specialId(md, 'bos_token_id', 1, n),
      eos: specialId(md, 'eos_token_id', 2, n),
      unk: specialId(md, 'unknown_token_id', 0, n),
      addBos: md.bool('tokenizer.ggml.add_bos_token') ?? true,
      addEos: md.bool('tokenizer.ggml.add_eos_token') ?? false,
    };
    const addSpacePrefix = md.bool('tokenizer.ggml.add_space_prefix') ?? true;
    return new SpmTokenizer({ vocab, special, addSpacePrefix });
  }
  if (model === 'gpt2') {
    const merges = md.strings('tokenizer.ggml.merges');
    if (!merges) fail(path, 'tokenizer.ggml.merges', 'missing; a gpt2 (BPE) tokenizer needs its merges');
    const pre = preTokenizerSpec(md.string('tokenizer.ggml.pre'), `${path}: tokenizer.ggml.pre`);
    const special: SpecialConfig = {
      bos: specialId(md, 'bos_token_id', 11, n),
      eos: specialId(md, 'eos_token_id', 11, n),
      unk: specialId(md, 'unknown_token_id', -1, n),
      addBos: md.bool('tokenizer.ggml.add_bos_token') ?? pre.addBos ?? false,
      addEos: md.bool('tokenizer.ggml.add_eos_token') ?? false,
    };
    return new BpeTokenizer({ vocab, special, merges: new BpeMerges(merges), pre });
  }
  return fail(
    path,
    'tokenizer.ggml.model',
    `"${model}" tokenizers are not supported (supported: llama = SentencePiece, gpt2 = byte-level BPE)`,
  );
}

/** llama.cpp's per-model attribute fix-up for Phi-3: special tokens swallow the whitespace after them. */
function markPhi3Strip(vocab: Vocab): void {
  for (const id of vocab.specials) vocab.attrs[id]! |= TokenAttr.RSTRIP;
  const set = (text: string, on: boolean): void => {
    const id = vocab.toId.get(text);
    if (id === undefined) return;
    if (on) vocab.attrs[id]! |= TokenAttr.RSTRIP;
    else vocab.attrs[id]! &= ~TokenAttr.RSTRIP;
  };
  set('</s>', true);
  for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, false);
}
