// The CPU reference forward pass: the test oracle every GPU configuration is checked against, and the engine's
// definition of what a Llama forward pass means. Readability beats speed here: one op per line, f64
// activations, weights read once as f32 from the LoadedModel.
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorNames } from '../model/config.ts';
import type { LoadedModel } from '../model/weights.ts';
import { argmax } from '../sampling/sampler.ts';
import { attention, matmul, rmsnorm, rope, swiglu } from './ops.ts';

export type { AttentionShape, Vec } from './ops.ts';
export { attention, matmul, rmsnorm, rope, silu, softmax, swiglu } from './ops.ts';
/** The greedy rule everywhere in the engine: the largest logit, the lowest index on ties. */
export { argmax };

interface LayerWeights {
  attnNorm: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  ffnNorm: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
}

export class CpuReference {
  readonly config: ModelConfig;
  private readonly embedding: Float32Array;
  private readonly classifier: Float32Array;
  private readonly finalNorm: Float32Array;
  private readonly layers: LayerWeights[] = [];
  // Per layer: keys (after RoPE) and values, [capacity, nKvHeads * headDim]; grown on demand.
  private keyCache: Float64Array[] = [];
  private valueCache: Float64Array[] = [];
  private len = 0;

  constructor(model: LoadedModel) {
    const c = model.config;
    this.config = c;
    const read = (name: string): Float32Array => {
      const t = model.tensor(name);
      const data = t.read();
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) {
        throw new BenchError('BAD_CHECKPOINT', `tensor ${name} has ${data.length} values, its shape says ${expected}`);
      }
      return data;
    };
    this.embedding = read(tensorNames.embedding);
    this.classifier = c.tiedClassifier ? this.embedding : read(tensorNames.classifier);
    this.finalNorm = read(tensorNames.finalNorm);
    for (let l = 0; l < c.nLayers; l++) {
      this.layers.push({
        attnNorm: read(tensorNames.attnNorm(l)),
        wq: read(tensorNames.wq(l)),
        wk: read(tensorNames.wk(l)),
        wv: read(tensorNames.wv(l)),
        wo: read(tensorNames.wo(l)),
        ffnNorm: read(tensorNames.ffnNorm(l)),
        w1: read(tensorNames.w1(l)),
        w2: read(tensorNames.w2(l)),
        w3: read(tensorNames.w3(l)),
      });
      this.keyCache.push(new Float64Array(0));
      this.valueCache.push(new Float64Array(0));
    }
  }

  /** Tokens held in the KV cache: the position the next forward() must start at. */
  get length(): number {
    return this.len;
  }

  /** Rolls the KV cache back to its first `len` positions (rejected speculative tokens, a new prompt). */
  truncate(len: number): void {
    if (!Number.isInteger(len) || len < 0 || len > this.len) {
      throw new BenchError('BAD_INPUT', `truncate(${len}): the cache holds ${this.len} positions; pass 0..${this.len}`);
    }
    this.len = len;
  }

  /**
   * Runs `tokens` at positions startPos.. (startPos must equal `length`: call truncate() first to go back),
   * appends their keys and values to the cache and returns one logits row [vocab] per token.
   */
  forward(tokens: readonly number[], startPos: number): Float64Array[] {
    const logits = this.run(tokens, startPos, tokens.length);
    const V = this.config.vocabSize;
    return tokens.map((_, t) => logits.subarray(t * V, (t + 1) * V));
  }

  /** Greedy continuation: clears the cache, runs the prompt, returns the next `n` argmax tokens (EOS included). */
  greedy(promptIds: readonly number[], n: number): number[] {
    if (promptIds.length === 0)
      throw new BenchError('BAD_INPUT', 'greedy() needs at least one prompt token (e.g. BOS)');
    this.truncate(0);
    const out: number[] = [];
    let next = argmax(this.run(promptIds, 0, 1));
    while (out.length < n) {
      out.push(next);
      if (out.length === n) break;
      next = argmax(this.run([next], this.len, 1));
    }
    return out;
  }

  /** The forward pass proper; returns logits [lastRows, vocab] for the last `lastRows` tokens only. */
  private run(tokens: readonly number[], startPos: number, lastRows: number): Float64Array {
    const c = this.config;
    const T = tokens.length;
    if (startPos !== this.len) {
      throw new BenchError(
        'BAD_INPUT',
        `forward at position ${startPos} but the cache holds ${this.len}: truncate() first`,
      );
    }
    if (startPos + T > c.maxSeqLen) {
      throw new BenchError('BAD_INPUT', `${startPos + T} positions exceed the model's maxSeqLen ${c.maxSeqLen}`);
    }
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;

    const x = new Float64Array(T * c.dim); // residual stream [T, dim]
    tokens.forEach((tok, t) => {
      if (!Number.isInteger(tok) || tok < 0 || tok >= c.vocabSize) {
        throw new BenchError('BAD_INPUT', `token id ${tok} is outside the vocabulary (0..${c.vocabSize - 1})`);
      }
      x.set(this.embedding.subarray(tok * c.dim, (tok + 1) * c.dim), t * c.dim);
    });

    this.layers.forEach((w, l) => {
      // Attention block.
      const xn = rmsnorm(x, w.attnNorm, c.normEps);
      const q = rope(matmul(xn, w.wq, T, qDim, c.dim), c.nHeads, c.headDim, startPos, c.ropeTheta, c.ropeLayout);
      const k = rope(matmul(xn, w.wk, T, kvDim, c.dim), c.nKvHeads, c.headDim, startPos, c.ropeTheta, c.ropeLayout);
      const v = matmul(xn, w.wv, T, kvDim, c.dim);
      this.store(l, startPos, k, v);
      const end = (startPos + T) * kvDim;
      const att = attention(q, this.keyCache[l]!.subarray(0, end), this.valueCache[l]!.subarray(0, end), {
        nHeads: c.nHeads,
        nKvHeads: c.nKvHeads,
        headDim: c.headDim,
        startPos,
      });
      addInPlace(x, matmul(att, w.wo, T, c.dim, qDim));
      // Feed-forward block.
      const hn = rmsnorm(x, w.ffnNorm, c.normEps);
      const h = swiglu(matmul(hn, w.w1, T, c.hiddenDim, c.dim), matmul(hn, w.w3, T, c.hiddenDim, c.dim));
      addInPlace(x, matmul(h, w.w2, T, c.dim, c.hiddenDim));
    });
    this.len = startPos + T;

    const last = x.subarray((T - lastRows) * c.dim);
    return matmul(rmsnorm(last, this.finalNorm, c.normEps), this.classifier, lastRows, c.vocabSize, c.dim);
  }

  private store(layer: number, startPos: number, k: Float64Array, v: Float64Array): void {
    const kvDim = this.config.nKvHeads * this.config.headDim;
    const end = startPos * kvDim + k.length;
    if (this.keyCache[layer]!.length < end) {
      const cap = Math.min(Math.max(end, this.keyCache[layer]!.length * 2), this.config.maxSeqLen * kvDim);
      this.keyCache[layer] = grow(this.keyCache[layer]!, cap);
      this.valueCache[layer] = grow(this.valueCache[layer]!, cap);
    }
    this.keyCache[layer]!.set(k, startPos * kvDim);
    this.valueCache[layer]!.set(v, startPos * kvDim);
  }
}

function grow(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}
