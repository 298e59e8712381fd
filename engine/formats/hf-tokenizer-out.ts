// tokenizer.json + tokenizer_config.json for a model being written as a Hugging Face folder. SentencePiece-style
// vocabularies (GGUF "llama", llama2.c tokenizer.bin) become Llama 2 style BPE-with-byte-fallback files, with merges
// derived from piece scores as transformers' SentencePiece converter does; byte-level BPE vocabularies keep their
// merges and pre-tokenizer regexes; a tokenizer that came from tokenizer.json is copied.

import { readFileSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { BpeTokenizer } from '../tokenizer/bpe.ts';
import { ggufTokenizerMetadata } from '../tokenizer/gguf.ts';
import { HfTokenizer } from '../tokenizer/hf-json.ts';
import { GgufTokenType } from '../tokenizer/vocab.ts';
import type { GgufKv } from './gguf.ts';

const SPACE = '\u2581';

export interface HfTokenizerFiles {
  tokenizer: object;
  config: object;
}

/** Merges of vocabulary pieces, ordered by the merged piece's score (transformers' SentencePieceExtractor). */
export function mergesFromScores(
  pieces: readonly string[],
  scores: ArrayLike<number>,
  types: ArrayLike<number>,
): string[] {
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!ids.has(p)) ids.set(p, i);
  });
  const merges: { l: string; r: string; score: number }[] = [];
  pieces.forEach((p, i) => {
    if (types[i] !== GgufTokenType.NORMAL) return;
    const chars = Array.from(p);
    const local: { l: string; r: string; score: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      if (ids.has(l) && ids.has(r)) local.push({ l, r, score: scores[i]! });
    }
    local.sort((a, b) => ids.get(a.l)! - ids.get(b.l)! || ids.get(a.r)! - ids.get(b.r)!);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score); // stable: ties keep vocabulary order
  return merges.map((m) => `${m.l} ${m.r}`);
}

function value<T>(md: [string, GgufKv][], key: string): T | undefined {
  const v = md.find(([k]) => k === key)?.[1].value;
  if (v === undefined) return undefined;
  return (typeof v === 'object' && 'items' in v ? v.items : v) as T;
}

function spmFiles(md: [string, GgufKv][]): HfTokenizerFiles {
  const pieces = value<string[]>(md, 'tokenizer.ggml.tokens')!;
  const scores = value<Float32Array>(md, 'tokenizer.ggml.scores')!;
  const types = value<Int32Array>(md, 'tokenizer.ggml.token_type')!;
  const bos = value<number>(md, 'tokenizer.ggml.bos_token_id');
  const eos = value<number>(md, 'tokenizer.ggml.eos_token_id');
  const unk = value<number>(md, 'tokenizer.ggml.unknown_token_id');
  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => {
    if (!(p in vocab)) vocab[p] = i;
  });
  const added = [];
  for (let i = 0; i < pieces.length; i++) {
    const t = types[i];
    if (t === GgufTokenType.CONTROL || t === GgufTokenType.UNKNOWN || t === GgufTokenType.USER_DEFINED) {
      added.push({
        id: i,
        content: pieces[i],
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: t !== GgufTokenType.USER_DEFINED,
      });
    }
  }
  const name = (id: number | undefined) => (id === undefined ? null : pieces[id]);
  return {
    tokenizer: {
      version: '1.0',
      added_tokens: added,
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: SPACE },
          { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
        ],
      },
      pre_tokenizer: null,
      post_processor:
        bos === undefined
          ? null
          : {
              type: 'TemplateProcessing',
              single: [{ SpecialToken: { id: pieces[bos], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
              pair: [],
              special_tokens: { [pieces[bos]!]: { id: pieces[bos], ids: [bos], tokens: [pieces[bos]] } },
            },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        unk_token: name(unk),
        fuse_unk: true,
        byte_fallback: true,
        vocab,
        merges: mergesFromScores(pieces, scores, types),
      },
    },
    config: {
      tokenizer_class: 'LlamaTokenizerFast',
      add_bos_token: value<boolean>(md, 'tokenizer.ggml.add_bos_token') ?? true,
      add_eos_token: value<boolean>(md, 'tokenizer.ggml.add_eos_token') ?? false,
      bos_token: name(bos),
      eos_token: name(eos),
      unk_token: name(unk),
    },
  };
}

function byteLevelFiles(tok: BpeTokenizer): HfTokenizerFiles {
  const vocab: Record<string, number> = {};
  tok.vocab.pieces.forEach((p, i) => {
    if (!(p in vocab)) vocab[p] = i;
  });
  const added = tok.vocab.specials.map((id) => ({
    id,
    content: tok.vocab.pieces[id],
    normalized: false,
    special: true,
  }));
  const name = (id: number) => (id >= 0 ? tok.vocab.pieces[id] : null);
  return {
    tokenizer: {
      version: '1.0',
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          ...tok.pre.regexes.map((r) => ({
            type: 'Split',
            pattern: { Regex: r },
            behavior: 'Isolated',
            invert: false,
          })),
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        ],
      },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      model: { type: 'BPE', ignore_merges: tok.pre.ignoreMerges === true, vocab, merges: tok.merges.list() },
    },
    config: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: name(tok.bos),
      eos_token: name(tok.eos),
    },
  };
}

export function hfTokenizerFiles(tok: unknown, where: string): HfTokenizerFiles {
  if (tok instanceof HfTokenizer && tok.source) {
    return {
      tokenizer: JSON.parse(readFileSync(tok.source.tokenizer, 'utf8')),
      config: tok.source.config ? JSON.parse(readFileSync(tok.source.config, 'utf8')) : {},
    };
  }
  if (tok instanceof BpeTokenizer) return byteLevelFiles(tok);
  let md: [string, GgufKv][];
  try {
    md = ggufTokenizerMetadata(tok, where);
  } catch (e) {
    throw new BenchError('UNSUPPORTED', `${where}: this model's tokenizer cannot be written as tokenizer.json`, {
      cause: e,
    });
  }
  return spmFiles(md);
}
