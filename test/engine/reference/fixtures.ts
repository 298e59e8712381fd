// Test helpers for the CPU reference: models from in-memory tensors, seeded random weights, a tiny llama2.c
// reader, and an independent naive forward pass written differently from engine/reference (nested number[]
// matrices, one token at a time, complex-number RoPE) so the two can check each other.
import { readFileSync } from 'node:fs';
import { type ModelConfig, tensorNames, tensorShapes } from '../../../engine/model/config.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import type { Tokenizer } from '../../../engine/tokenizer/types.ts';

const noTokenizer: Tokenizer = {
  vocabSize: 0,
  bos: -1,
  eos: -1,
  encode: () => [],
  tokenBytes: () => new Uint8Array(0),
  decode: () => '',
};

export function modelFrom(config: ModelConfig, tensors: Map<string, Float32Array>): LoadedModel {
  return {
    config,
    info: { name: 'test', format: 'synthetic', synthetic: true },
    tensor(name) {
      const data = tensors.get(name);
      const shape = tensorShapes(config).get(name);
      if (!data || !shape) throw new Error(`no tensor ${name}`);
      return { shape, read: () => data };
    },
    tokenizer: noTokenizer,
  };
}

/** Uniform values in [-scale, scale) from a 32-bit LCG (Numerical Recipes constants). */
export function lcgFill(seed: number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 * scale - scale;
  }
  return out;
}

/** Random weights for every tensor of `config`; norms are around 1 so activations stay well scaled. */
export function randomModel(config: ModelConfig, seed: number): LoadedModel {
  const tensors = new Map<string, Float32Array>();
  let k = 0;
  for (const [name, shape] of tensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = shape.length === 1;
    const data = lcgFill(seed * 1000 + k++, n, isNorm ? 0.5 : 1 / Math.sqrt(shape[1]!));
    if (isNorm) for (let i = 0; i < n; i++) data[i]! += 1;
    tensors.set(name, data);
  }
  return modelFrom(config, tensors);
}

export function smallConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    dim: 16,
    hiddenDim: 24,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 4,
    vocabSize: 11,
    maxSeqLen: 32,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tiedClassifier: false,
    ...over,
  };
}

type M = number[][];

function toMatrix(data: Float32Array, rows: number, cols: number): M {
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const apply = (w: M, x: number[]) => w.map((row) => dot(row, x));
function norm(x: number[], g: number[], eps: number): number[] {
  const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + eps);
  return x.map((v, i) => (v / rms) * g[i]!);
}

/** Rotates each head's pairs as complex numbers (re, im) multiplied by e^(i * pos * freq). */
function rotate(vec: number[], heads: number, hd: number, pos: number, theta: number, half: boolean): number[] {
  const out = vec.slice();
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < hd / 2; j++) {
      const re = h * hd + (half ? j : 2 * j);
      const im = half ? re + hd / 2 : re + 1;
      const ang = pos / theta ** ((2 * j) / hd);
      const [a, b] = [vec[re]!, vec[im]!];
      out[re] = a * Math.cos(ang) - b * Math.sin(ang);
      out[im] = b * Math.cos(ang) + a * Math.sin(ang);
    }
  }
  return out;
}

/** Logits for every token of `tokens` (positions 0..), computed one token at a time. */
export function naiveForward(model: LoadedModel, tokens: number[]): number[][] {
  const c = model.config;
  const t = (name: string) => model.tensor(name).read();
  const mat = (name: string) => {
    const [r, cols] = model.tensor(name).shape as [number, number];
    return toMatrix(t(name), r, cols);
  };
  const emb = mat(tensorNames.embedding);
  const cls = c.tiedClassifier ? emb : mat(tensorNames.classifier);
  const hd = c.headDim;
  const keys: M[] = Array.from({ length: c.nLayers }, () => []);
  const vals: M[] = Array.from({ length: c.nLayers }, () => []);
  const result: number[][] = [];
  tokens.forEach((tok, pos) => {
    let x = emb[tok]!.slice();
    for (let l = 0; l < c.nLayers; l++) {
      const xn = norm(x, Array.from(t(tensorNames.attnNorm(l))), c.normEps);
      const half = c.ropeLayout === 'half';
      const q = rotate(apply(mat(tensorNames.wq(l)), xn), c.nHeads, hd, pos, c.ropeTheta, half);
      keys[l]!.push(rotate(apply(mat(tensorNames.wk(l)), xn), c.nKvHeads, hd, pos, c.ropeTheta, half));
      vals[l]!.push(apply(mat(tensorNames.wv(l)), xn));
      const att: number[] = [];
      for (let h = 0; h < c.nHeads; h++) {
        const kvh = Math.floor((h * c.nKvHeads) / c.nHeads);
        const qh = q.slice(h * hd, (h + 1) * hd);
        const sc = keys[l]!.map((k) => dot(qh, k.slice(kvh * hd, (kvh + 1) * hd)) / Math.sqrt(hd));
        const e = sc.map((s) => Math.exp(s - Math.max(...sc)));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) att.push(vals[l]!.reduce((s, v, p) => s + (e[p]! / z) * v[kvh * hd + i]!, 0));
      }
      const proj = apply(mat(tensorNames.wo(l)), att);
      x = x.map((v, i) => v + proj[i]!);
      const hn = norm(x, Array.from(t(tensorNames.ffnNorm(l))), c.normEps);
      const g = apply(mat(tensorNames.w1(l)), hn);
      const u = apply(mat(tensorNames.w3(l)), hn);
      const act = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
      const down = apply(mat(tensorNames.w2(l)), act);
      x = x.map((v, i) => v + down[i]!);
    }
    result.push(apply(cls, norm(x, Array.from(t(tensorNames.finalNorm)), c.normEps)));
  });
  return result;
}

/** A deliberately small llama2.c v0 reader (header + f32 tensors in export order) for the golden test. */
export function readLlama2cV0(path: string): LoadedModel {
  const b = readFileSync(path);
  const h = Array.from({ length: 7 }, (_, i) => b.readInt32LE(4 * i));
  const [dim, hidden, layers, heads, kvHeads, vocabRaw, seqLen] = h as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const config: ModelConfig = {
    dim,
    hiddenDim: hidden,
    nLayers: layers,
    nHeads: heads,
    nKvHeads: kvHeads,
    headDim: dim / heads,
    vocabSize: Math.abs(vocabRaw),
    maxSeqLen: seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tiedClassifier: vocabRaw > 0,
  };
  const floats = new Float32Array(b.buffer.slice(b.byteOffset + 28, b.byteOffset + b.length));
  let o = 0;
  const tensors = new Map<string, Float32Array>();
  const take = (name: string, n: number) => {
    tensors.set(name, floats.slice(o, o + n));
    o += n;
  };
  const kvDim = (dim / heads) * kvHeads;
  const each = (name: (l: number) => string, n: number) => {
    for (let l = 0; l < layers; l++) take(name(l), n);
  };
  take(tensorNames.embedding, config.vocabSize * dim);
  each(tensorNames.attnNorm, dim);
  each(tensorNames.wq, dim * dim);
  each(tensorNames.wk, kvDim * dim);
  each(tensorNames.wv, kvDim * dim);
  each(tensorNames.wo, dim * dim);
  each(tensorNames.ffnNorm, dim);
  each(tensorNames.w1, hidden * dim);
  each(tensorNames.w2, dim * hidden);
  each(tensorNames.w3, hidden * dim);
  take(tensorNames.finalNorm, dim);
  o += seqLen * (dim / heads); // freq_cis real and imaginary halves, unused
  if (!config.tiedClassifier) take(tensorNames.classifier, config.vocabSize * dim);
  return modelFrom(config, tensors);
}

/** llama2.c run.c decode(): piece of `token`, leading space stripped after BOS, <0xXX> pieces as raw bytes. */
export function readLlama2cPieces(path: string): Buffer[] {
  const b = readFileSync(path);
  const pieces: Buffer[] = [];
  for (let o = 4; o < b.length; ) {
    const len = b.readInt32LE(o + 4);
    pieces.push(b.subarray(o + 8, o + 8 + len));
    o += 8 + len;
  }
  return pieces;
}

export function llama2cDecode(pieces: Buffer[], prev: number, token: number): Buffer {
  let p = pieces[token]!;
  if (prev === 1 && p[0] === 0x20) p = p.subarray(1);
  const m = /^<0x([0-9A-F]{2})>$/.exec(p.toString('latin1'));
  return m ? Buffer.from([Number.parseInt(m[1]!, 16)]) : p;
}
