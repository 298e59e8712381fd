// Logits -> token. The order of filters follows Hugging Face and vLLM: temperature, then top-k, then top-p over
// the renormalised top-k set, then one draw. probabilities() exposes the exact distribution a draw comes from,
// because speculative decoding's rejection sampling must compare target and draft distributions, not tokens.
import { badInput } from '../errors.ts';
import { Pcg32 } from './rng.ts';
import type { SamplingParams } from './types.ts';

type Logits = Float32Array | Float64Array;

// Cumulative sums of a few probabilities rarely hit p exactly (0.7 + 0.1 < 0.8 in f64): without a tolerance a
// nucleus that a person would call complete gets one extra token.
const TOP_P_TOLERANCE = 1e-12;

/** Index of the largest logit; the lowest index wins ties. */
export function argmax(logits: Logits): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Throws BAD_INPUT unless temperature >= 0, topK is a non-negative integer and 0 < topP <= 1. */
export function validateSampling(p: SamplingParams): void {
  if (!Number.isFinite(p.temperature) || p.temperature < 0) {
    throw badInput(`temperature must be a number >= 0 (0 = greedy), got ${p.temperature}`);
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) throw badInput(`top-k must be an integer >= 0 (0 = off), got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw badInput(`top-p must be in (0, 1] (1 = off), got ${p.topP}`);
  if (p.seed !== undefined && !Number.isSafeInteger(p.seed)) throw badInput(`seed must be an integer, got ${p.seed}`);
}

/** Indices of the k largest logits (ties: lower index first), in index order. */
function topKIndices(logits: Logits, k: number): number[] {
  const sorted = Float64Array.from(logits).sort(); // native numeric sort: fast even for 128k entries
  const threshold = sorted[sorted.length - k]!;
  let above = 0;
  for (const v of logits) if (v > threshold) above++;
  let ties = k - above; // how many logits equal to the threshold still fit, lowest indices first
  const out: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > threshold) out.push(i);
    else if (v === threshold && ties > 0) {
      out.push(i);
      ties--;
    }
  }
  return out;
}

/**
 * The distribution a sampled token is drawn from, over the whole vocabulary (zeros for filtered tokens):
 * softmax(logits / temperature) restricted to the top-k tokens, then to the smallest set of most probable tokens
 * whose probability sums to at least top-p, renormalised. Temperature 0 gives a one-hot vector at the argmax.
 */
export function probabilities(logits: Logits, params: SamplingParams): Float64Array {
  const V = logits.length;
  const out = new Float64Array(V);
  if (params.temperature === 0) {
    out[argmax(logits)] = 1;
    return out;
  }
  const cand: number[] =
    params.topK > 0 && params.topK < V ? topKIndices(logits, params.topK) : Array.from({ length: V }, (_, i) => i);

  let max = Number.NEGATIVE_INFINITY;
  for (const i of cand) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (const i of cand) {
    out[i] = Math.exp((logits[i]! - max) / params.temperature);
    sum += out[i]!;
  }
  for (const i of cand) out[i]! /= sum;

  if (params.topP < 1 && cand.length > 1) {
    // llama2.c's shortcut: apart from the most probable token, a token below (1 - p) / (n - 1) can never be
    // needed to reach p (the mass left after a prefix short of p exceeds 1 - p and spreads over < n tokens).
    const cutoff = (1 - params.topP) / (cand.length - 1);
    let kept = cand.filter((i) => out[i]! >= cutoff);
    if (kept.length === 0) kept = [cand.reduce((a, b) => (out[b]! > out[a]! ? b : a))];
    kept.sort((a, b) => out[b]! - out[a]! || a - b);
    let cum = 0;
    let n = 0;
    while (n < kept.length && cum < params.topP - TOP_P_TOLERANCE) cum += out[kept[n++]!]!;
    const nucleus = kept.slice(0, n).map((i) => [i, out[i]!] as const);
    out.fill(0);
    for (const [i, p] of nucleus) out[i] = p / cum;
  }
  return out;
}

/** Inverse CDF over `probs` in index order: the token whose cumulative interval holds u in [0, 1). */
export function sampleFrom(probs: Float64Array, u: number): number {
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p === 0) continue;
    cum += p;
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding left the sum a hair under u
}

/** Turns logits into tokens with one SamplingParams and one seeded generator (same seed: same tokens). */
export class Sampler {
  readonly params: SamplingParams;
  readonly rng: Pcg32;

  constructor(params: SamplingParams, rng?: Pcg32) {
    validateSampling(params);
    this.params = params;
    this.rng = rng ?? Pcg32.fromSeed(params.seed);
  }

  /** Greedy (no draw) at temperature 0; otherwise one draw from probabilities(logits, params). */
  sample(logits: Logits): number {
    if (this.params.temperature === 0) return argmax(logits);
    return sampleFrom(probabilities(logits, this.params), this.rng.random());
  }
}
