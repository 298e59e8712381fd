// Writes a loaded model as a llama2.c v0 ("legacy") checkpoint, the layout every llama2.c runner reads (run.c, its
// ports), and its vocabulary as a tokenizer.bin when the vocabulary is SentencePiece-shaped. v0 is f32 only and has
// no fields for RoPE theta or the RMSNorm epsilon, so models that need other values are refused rather than written
// into a file that would run differently.

import { closeSync, openSync, writeSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { llama2cLayout } from '../model/llama2c.ts';
import type { LoadedModel } from '../model/weights.ts';
import { ggufTokenizerMetadata } from '../tokenizer/gguf.ts';
import { Llama2cTokenizer } from '../tokenizer/llama2c.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { readIn } from './convert.ts';
import type { GgufKv } from './gguf.ts';

const LLAMA2C_THETA = 10000;
const LLAMA2C_EPS = 1e-5;

/** Why `c` cannot be a llama2.c v0 checkpoint, or undefined. */
export function llama2cProblem(c: ModelConfig): string | undefined {
  if (c.headDim * c.nHeads !== c.dim) {
    return `head_dim ${c.headDim} x ${c.nHeads} heads != dim ${c.dim} (llama2.c derives the head size from dim)`;
  }
  if (c.ropeTheta !== LLAMA2C_THETA) return `RoPE theta is ${c.ropeTheta} (llama2.c runners use ${LLAMA2C_THETA})`;
  // f32 metadata stores 1e-5 as 9.99999975e-6: the same epsilon
  if (Math.abs(c.normEps - LLAMA2C_EPS) > LLAMA2C_EPS * 1e-6) {
    return `RMSNorm epsilon is ${c.normEps} (llama2.c runners use ${LLAMA2C_EPS})`;
  }
  return undefined;
}

/** Streams the header and the tensors one at a time into `path` (q/k rows back in llama2.c's interleaved order). */
export function writeModelLlama2c(path: string, model: LoadedModel): void {
  const c = model.config;
  const problem = llama2cProblem(c);
  if (problem) {
    throw new BenchError(
      'UNSUPPORTED',
      `model ${model.info.name} cannot be written as llama2.c: ${problem}; convert it to gguf or safetensors instead`,
    );
  }
  const layout = llama2cLayout(c, 0);
  const header = new Int32Array([
    c.dim,
    c.hiddenDim,
    c.nLayers,
    c.nHeads,
    c.nKvHeads,
    c.tiedClassifier ? c.vocabSize : -c.vocabSize, // v0 marks an unshared classifier by a negative vocab_size
    c.maxSeqLen,
  ]);
  const placed = [...layout.tensors].sort((a, b) => a[1].offset - b[1].offset);
  const fd = openSync(path, 'w');
  try {
    let pos = 0;
    const put = (a: Float32Array | Int32Array) => {
      const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(header);
    for (const [name, t] of placed) {
      // The only gap in a v0 file is the freq_cis tables after the final norm (old runners read them).
      if (t.offset > pos) put(freqCis(c));
      if (t.offset !== pos) throw new BenchError('RUNTIME', `llama2.c writer: ${name} at ${pos}, expected ${t.offset}`);
      const data = readIn(model, name, t.shape, 'interleaved');
      if (data.length !== t.shape.reduce((a, b) => a * b, 1)) {
        throw new BenchError('BAD_CHECKPOINT', `model ${model.info.name}: tensor ${name} has ${data.length} values`);
      }
      put(data);
    }
    if (pos < layout.fileBytes) put(freqCis(c)); // tied classifier: the tables end the file
    if (pos !== layout.fileBytes) {
      throw new BenchError('RUNTIME', `llama2.c writer: wrote ${pos} bytes, the layout needs ${layout.fileBytes}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** freq_cis_real then freq_cis_imag, [seq_len, head_size / 2] each, as llama2.c's model.py precomputes them. */
function freqCis(c: ModelConfig): Float32Array {
  const half = Math.floor(c.headDim / 2);
  const out = new Float32Array(2 * c.maxSeqLen * half);
  const imag = c.maxSeqLen * half;
  for (let p = 0; p < c.maxSeqLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * LLAMA2C_THETA ** -((2 * i) / c.headDim);
      out[p * half + i] = Math.cos(angle);
      out[imag + p * half + i] = Math.sin(angle);
    }
  }
  return out;
}

function mdValue<T>(md: [string, GgufKv][], key: string): T | undefined {
  const v = md.find(([k]) => k === key)?.[1].value;
  if (v === undefined) return undefined;
  return (typeof v === 'object' && 'items' in v ? v.items : v) as T;
}

/**
 * The tokenizer.bin of `tok` (u32 max_token_length, then per token: f32 score, i32 length, bytes), as llama2.c's
 * tokenizer.py exports a SentencePiece model: spaces for U+2581, "\n<s>\n" / "\n</s>\n" for BOS / EOS. Only
 * SentencePiece vocabularies with llama2.c's fixed ids (BOS 1, EOS 2, <0x00>.. at 3) have one; otherwise the reason.
 */
export function llama2cTokenizerBin(tok: Tokenizer, where: string): { bytes: Buffer } | { reason: string } {
  let pieces: Uint8Array[];
  let scores: ArrayLike<number>;
  if (tok instanceof Llama2cTokenizer) {
    pieces = Array.from({ length: tok.vocabSize }, (_, i) => tok.piece(i));
    scores = Array.from({ length: tok.vocabSize }, (_, i) => tok.score(i));
  } else {
    let md: [string, GgufKv][];
    try {
      md = ggufTokenizerMetadata(tok, where);
    } catch (e) {
      if (e instanceof BenchError) return { reason: e.message };
      throw e;
    }
    const model = mdValue<string>(md, 'tokenizer.ggml.model');
    if (model !== 'llama')
      return { reason: `its ${model ?? 'unknown'} (not SentencePiece) vocabulary has no tokenizer.bin form` };
    const tokens = mdValue<string[]>(md, 'tokenizer.ggml.tokens') ?? [];
    const bos = mdValue<number>(md, 'tokenizer.ggml.bos_token_id') ?? 1;
    const eos = mdValue<number>(md, 'tokenizer.ggml.eos_token_id') ?? 2;
    if (bos !== 1 || eos !== 2) return { reason: `BOS/EOS are ${bos}/${eos}; llama2.c runners fix them at 1/2` };
    if (mdValue<boolean>(md, 'tokenizer.ggml.add_space_prefix') === false) {
      return { reason: 'it adds no dummy-prefix space, which llama2.c runners always do' };
    }
    for (let b = 0; b < 256; b++) {
      if (tokens[3 + b] !== `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) {
        return { reason: `token ${3 + b} is not the byte token of 0x${b.toString(16)} (llama2.c byte fallback)` };
      }
    }
    const enc = new TextEncoder();
    pieces = tokens.map((t, i) =>
      enc.encode(i === bos ? '\n<s>\n' : i === eos ? '\n</s>\n' : t.replaceAll('\u2581', ' ')),
    );
    scores = mdValue<Float32Array>(md, 'tokenizer.ggml.scores') ?? new Float32Array(tokens.length);
  }
  const maxLen = pieces.reduce((m, p) => Math.max(m, p.length), 1);
  const out = Buffer.alloc(4 + pieces.reduce((n, p) => n + 8 + p.length, 0));
  out.writeUInt32LE(maxLen, 0);
  let off = 4;
  pieces.forEach((p, i) => {
    out.writeFloatLE(scores[i]!, off);
    out.writeInt32LE(p.length, off + 4);
    out.set(p, off + 8);
    off += 8 + p.length;
  });
  return { bytes: out };
}
