// The tokenizer embedded in a GGUF file's metadata (tokenizer.ggml.*), read the way llama.cpp's llama_vocab::load
// does: SentencePiece ("llama") and byte-level BPE ("gpt2") models, token types, special ids, add_bos/add_eos.

import { BenchError } from '../errors.ts';
import type { GgufKv, GgufMetadata } from '../formats/gguf.ts';
import { kv } from '../formats/gguf-write.ts';
import { BpeMerges, BpeTokenizer } from './bpe.ts';
import { HfTokenizer, type HfVocabExport } from './hf-json.ts';
import { toJsRegex } from './hf-json-steps.ts';
import { preTokenizerSpec } from './pretokenize.ts';
import { SpmTokenizer } from './spm.ts';
import { attrFromTokenType, GgufTokenType, type SpecialConfig, TokenAttr, tokenTypeFromAttr, Vocab } from './vocab.ts';

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
  const tok = buildTokenizer(md);
  tok.chatTemplate = md.string('tokenizer.chat_template');
  return tok;
}

function buildTokenizer(md: GgufMetadata): GgufTokenizer {
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

/** A tokenizer whose vocabulary can be written out (llama2.c's tokenizer.bin has raw pieces and scores). */
interface PieceScoreVocab {
  vocabSize: number;
  bos: number;
  eos: number;
  piece(id: number): Uint8Array | string;
  score(id: number): number;
}

const isPieceScore = (t: unknown): t is PieceScoreVocab =>
  typeof (t as PieceScoreVocab).piece === 'function' && typeof (t as PieceScoreVocab).score === 'function';

/**
 * `tokenizer.ggml.*` metadata that reproduces `tok` when read back by tokenizerFromGguf: SentencePiece and BPE
 * tokenizers export their tables; a llama2.c tokenizer becomes a "llama" vocabulary (its pieces keep spaces as
 * ' ', GGUF as U+2581; <0xXX> pieces are byte tokens; BOS/EOS are control tokens).
 */
export function ggufTokenizerMetadata(tok: unknown, where: string): [string, GgufKv][] {
  const types = (v: Vocab) => Int32Array.from(v.attrs, tokenTypeFromAttr);
  if (tok instanceof SpmTokenizer) {
    return [
      ['tokenizer.ggml.model', kv.str('llama')],
      ['tokenizer.ggml.tokens', kv.strs([...tok.vocab.pieces])],
      ['tokenizer.ggml.scores', kv.f32s(tok.vocab.scores)],
      ['tokenizer.ggml.token_type', kv.i32s(types(tok.vocab))],
      ...specialMetadata(tok.special),
      ['tokenizer.ggml.add_space_prefix', kv.bool(tok.addSpacePrefix)],
    ];
  }
  if (tok instanceof BpeTokenizer) {
    return [
      ['tokenizer.ggml.model', kv.str('gpt2')],
      ['tokenizer.ggml.pre', kv.str(tok.pre.name)],
      ['tokenizer.ggml.tokens', kv.strs([...tok.vocab.pieces])],
      ['tokenizer.ggml.token_type', kv.i32s(types(tok.vocab))],
      ['tokenizer.ggml.merges', kv.strs(tok.merges.list())],
      ...specialMetadata(tok.special),
    ];
  }
  if (tok instanceof HfTokenizer) return hfVocabMetadata(tok.exportVocab(), where);
  if (isPieceScore(tok)) {
    const dec = new TextDecoder();
    const n = tok.vocabSize;
    const pieces: string[] = [];
    const scores = new Float32Array(n);
    const tt = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const raw = tok.piece(i);
      const text = typeof raw === 'string' ? raw : dec.decode(raw);
      scores[i] = tok.score(i);
      if (i === tok.bos || i === tok.eos) {
        pieces.push(text.trim()); // llama2.c stores "\n<s>\n"; GGUF keeps the bare control name
        tt[i] = GgufTokenType.CONTROL;
      } else if (i === 0 && text.trim() === '<unk>') {
        pieces.push('<unk>');
        tt[i] = GgufTokenType.UNKNOWN;
      } else if (/^<0x[0-9A-F]{2}>$/.test(text)) {
        pieces.push(text);
        tt[i] = GgufTokenType.BYTE;
      } else {
        pieces.push(text.replaceAll(' ', '\u2581'));
        tt[i] = GgufTokenType.NORMAL;
      }
    }
    return [
      ['tokenizer.ggml.model', kv.str('llama')],
      ['tokenizer.ggml.tokens', kv.strs(pieces)],
      ['tokenizer.ggml.scores', kv.f32s(scores)],
      ['tokenizer.ggml.token_type', kv.i32s(tt)],
      ['tokenizer.ggml.bos_token_id', kv.u32(tok.bos)],
      ['tokenizer.ggml.eos_token_id', kv.u32(tok.eos)],
      ['tokenizer.ggml.unknown_token_id', kv.u32(0)],
      ['tokenizer.ggml.add_bos_token', kv.bool(true)],
      ['tokenizer.ggml.add_eos_token', kv.bool(false)],
    ];
  }
  throw new BenchError(
    'UNSUPPORTED',
    `${where}: this model's tokenizer cannot be written into GGUF metadata (supported: GGUF, tokenizer.bin vocabularies)`,
  );
}

function specialMetadata(s: SpecialConfig): [string, GgufKv][] {
  const out: [string, GgufKv][] = [];
  if (s.bos >= 0) out.push(['tokenizer.ggml.bos_token_id', kv.u32(s.bos)]);
  if (s.eos >= 0) out.push(['tokenizer.ggml.eos_token_id', kv.u32(s.eos)]);
  if (s.unk >= 0) out.push(['tokenizer.ggml.unknown_token_id', kv.u32(s.unk)]);
  out.push(['tokenizer.ggml.add_bos_token', kv.bool(s.addBos)], ['tokenizer.ggml.add_eos_token', kv.bool(s.addEos)]);
  return out;
}

/** `tokenizer.ggml.pre` names whose regexes a tokenizer.json Split sequence may spell. */
const PRE_CANDIDATES = [
  'llama-bpe',
  'qwen2',
  'gpt-2',
  'starcoder',
  'falcon',
  'deepseek-llm',
  'deepseek-coder',
  'tekken',
  'gpt-4o',
];

function hfVocabMetadata(v: HfVocabExport, where: string): [string, GgufKv][] {
  const special: SpecialConfig = { bos: v.bos, eos: v.eos, unk: v.unk, addBos: v.addBos, addEos: v.addEos };
  if (v.kind === 'bpe') {
    const regexes = v.splitRegexes.map((r) => (r === '<gpt2>' ? '<gpt2>' : toJsRegex(r)));
    const pre = PRE_CANDIDATES.find((name) => {
      const spec = preTokenizerSpec(name, where);
      const want = name === 'gpt-2' ? ['<gpt2>'] : spec.regexes;
      return want.length === regexes.length && want.every((r, i) => r === regexes[i]);
    });
    if (!pre) {
      throw new BenchError(
        'UNSUPPORTED',
        `${where}: the tokenizer.json pre-tokenizer matches no llama.cpp pre-tokenizer, so GGUF cannot express it`,
      );
    }
    return [
      ['tokenizer.ggml.model', kv.str('gpt2')],
      ['tokenizer.ggml.pre', kv.str(pre)],
      ['tokenizer.ggml.tokens', kv.strs(v.pieces)],
      ['tokenizer.ggml.token_type', kv.i32s(v.types)],
      ['tokenizer.ggml.merges', kv.strs(v.merges)],
      ...specialMetadata(special),
    ];
  }
  // SentencePiece scores from merge ranks: the piece a lower-ranked merge makes scores higher, so llama.cpp's
  // highest-score-first merging follows the BPE merge order.
  const scores = new Float32Array(v.pieces.length).fill(-1e9);
  const id = new Map(v.pieces.map((p, i) => [p, i]));
  v.merges.forEach((m, rank) => {
    const sp = m.indexOf(' ', 1);
    const i = id.get(m.slice(0, sp) + m.slice(sp + 1));
    if (i !== undefined && scores[i] === -1e9) scores[i] = -rank;
  });
  return [
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.tokens', kv.strs(v.pieces)],
    ['tokenizer.ggml.scores', kv.f32s(scores)],
    ['tokenizer.ggml.token_type', kv.i32s(v.types)],
    ...specialMetadata(special),
  ];
}
