// Per-op reference implementations: the oracles the GPU kernel tests compare against, and the building blocks
// of the CPU forward pass. Plain loops, f64 accumulation, row-major arrays, no allocation tricks: each function
// should be checkable by reading it. Inputs may be f32 or f64; outputs are always fresh Float64Arrays.
import type { RopeLayout } from '../model/config.ts';

export type Vec = Float32Array | Float64Array;

/**
 * RMSNorm of each row: out[r, i] = x[r, i] / sqrt(mean(x[r, :]^2) + eps) * weight[i].
 * x: [rows, dim] with dim = weight.length; out: [rows, dim].
 */
export function rmsnorm(x: Vec, weight: Vec, eps: number): Float64Array {
  const dim = weight.length;
  const rows = x.length / dim;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i]! * inv * weight[i]!;
  }
  return out;
}

/**
 * out = x * w^T, the PyTorch Linear layout: x: [T, K], w: [N, K] (one row per output feature), out: [T, N].
 */
export function matmul(x: Vec, w: Vec, T: number, N: number, K: number): Float64Array {
  const out = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    const xo = t * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += w[wo + k]! * x[xo + k]!;
      out[t * N + n] = s;
    }
  }
  return out;
}

/**
 * Rotary position embedding of every head of every row. x: [T, nHeads * headDim]; row t sits at position
 * positions[t] (or startPos + t when a number is given). Pair i (0 <= i < headDim/2) turns by the angle
 * pos * theta^(-2i / headDim); 'interleaved' pairs are (x[2i], x[2i+1]) (llama2.c, GGUF), 'half' pairs are
 * (x[i], x[i + headDim/2]) (Hugging Face). out: [T, nHeads * headDim].
 */
export function rope(
  x: Vec,
  nHeads: number,
  headDim: number,
  positions: number | readonly number[],
  theta: number,
  layout: RopeLayout,
): Float64Array {
  const width = nHeads * headDim;
  const T = x.length / width;
  const half = headDim / 2;
  const out = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    const pos = typeof positions === 'number' ? positions + t : positions[t]!;
    for (let h = 0; h < nHeads; h++) {
      const base = t * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const angle = pos * theta ** ((-2 * i) / headDim);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const a = layout === 'interleaved' ? base + 2 * i : base + i;
        const b = layout === 'interleaved' ? a + 1 : a + half;
        const x0 = x[a]!;
        const x1 = x[b]!;
        out[a] = x0 * c - x1 * s;
        out[b] = x0 * s + x1 * c;
      }
    }
  }
  return out;
}

/** Numerically stable softmax of one vector (-Infinity entries get probability 0). */
export function softmax(x: Vec | readonly number[]): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of x) if (v > max) max = v;
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < x.length; i++) out[i]! /= sum;
  return out;
}

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number; // nHeads must be a multiple: q head h reads kv head floor(h / (nHeads / nKvHeads))
  headDim: number;
  /** Position of the first query row; query row t attends to key positions 0..startPos + t (causal). */
  startPos: number;
  /** Score scale; default 1 / sqrt(headDim). */
  scale?: number;
}

/**
 * Causal multi-head attention over a KV cache with grouped-query sharing.
 * q: [T, nHeads * headDim] (positions startPos..startPos+T-1), k and v: [S, nKvHeads * headDim] holding
 * positions 0..S-1 with S >= startPos + T (rows past the causal limit are ignored). out: [T, nHeads * headDim].
 */
export function attention(q: Vec, k: Vec, v: Vec, shape: AttentionShape): Float64Array {
  const { nHeads, nKvHeads, headDim, startPos } = shape;
  const scale = shape.scale ?? 1 / Math.sqrt(headDim);
  const qWidth = nHeads * headDim;
  const kvWidth = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const T = q.length / qWidth;
  const out = new Float64Array(q.length);
  for (let t = 0; t < T; t++) {
    const len = startPos + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const qo = t * qWidth + h * headDim;
      const scores = new Float64Array(len);
      for (let p = 0; p < len; p++) {
        const ko = p * kvWidth + kvh * headDim;
        let s = 0;
        for (let i = 0; i < headDim; i++) s += q[qo + i]! * k[ko + i]!;
        scores[p] = s * scale;
      }
      const w = softmax(scores);
      for (let p = 0; p < len; p++) {
        const vo = p * kvWidth + kvh * headDim;
        const wp = w[p]!;
        for (let i = 0; i < headDim; i++) out[qo + i]! += wp * v[vo + i]!;
      }
    }
  }
  return out;
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** The SwiGLU gate: out[i] = silu(gate[i]) * up[i]. gate, up, out: [T, hiddenDim]. */
export function swiglu(gate: Vec, up: Vec): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = silu(gate[i]!) * up[i]!;
  return out;
}
