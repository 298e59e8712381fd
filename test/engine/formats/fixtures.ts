// A tiny Llama model with deterministic pseudo-random weights and a small SentencePiece vocabulary, so format
// tests run without ../shared/models. Weights are a fixed LCG sequence, not anything the code under test made.
import assert from 'node:assert/strict';
import { BenchError, type ErrorCode } from '../../../engine/errors.ts';
import { type ModelConfig, tensorShapes } from '../../../engine/model/config.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { SpmTokenizer } from '../../../engine/tokenizer/spm.ts';
import { TokenAttr, Vocab } from '../../../engine/tokenizer/vocab.ts';

export const TINY: ModelConfig = {
  dim: 32,
  hiddenDim: 64,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 8,
  vocabSize: 0, // set from the vocabulary below
  maxSeqLen: 64,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeLayout: 'interleaved',
  tiedClassifier: false,
};

export function tinyVocab(): SpmTokenizer {
  const pieces = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const words = [
    '▁',
    'a',
    'b',
    'c',
    '▁a',
    '▁b',
    'ab',
    '▁ab',
    'abc',
    '▁abc',
    'h',
    'e',
    'l',
    'o',
    '▁h',
    'he',
    'll',
    'hell',
    '▁hello',
  ];
  pieces.push(...words);
  const n = pieces.length;
  const scores = new Float32Array(n);
  const attrs = new Uint16Array(n);
  attrs[0] = TokenAttr.UNKNOWN;
  attrs[1] = attrs[2] = TokenAttr.CONTROL;
  for (let i = 3; i < 259; i++) attrs[i] = TokenAttr.BYTE;
  for (let k = 0; k < words.length; k++) {
    attrs[259 + k] = TokenAttr.NORMAL;
    scores[259 + k] = -k; // earlier pieces merge first
  }
  return new SpmTokenizer({
    vocab: new Vocab(pieces, scores, attrs),
    special: { bos: 1, eos: 2, unk: 0, addBos: true, addEos: false },
    addSpacePrefix: true,
  });
}

/** Deterministic values in (-1, 1): a 32-bit LCG seeded per tensor name. */
export function lcgValues(seed: string, n: number): Float32Array {
  let s = 2166136261;
  for (const ch of seed) s = Math.imul(s ^ ch.charCodeAt(0), 16777619) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function tinyModel(over: Partial<ModelConfig> = {}): LoadedModel {
  const tokenizer = tinyVocab();
  const config: ModelConfig = { ...TINY, vocabSize: tokenizer.vocabSize, ...over };
  const shapes = tensorShapes(config);
  return {
    config,
    info: { name: 'tiny-test', format: 'synthetic', synthetic: true },
    tensor(name) {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`no tensor ${name}`);
      return {
        shape,
        read: () =>
          lcgValues(
            name,
            shape.reduce((a, b) => a * b, 1),
          ),
      };
    },
    tokenizer,
  };
}

/** Asserts `fn` throws one BenchError of `code` whose message matches every pattern. */
export function expectError(fn: () => unknown, code: ErrorCode, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BenchError, `a BenchError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}
