// Verification: lossless by construction.
//   greedy   accept draft i while it equals the target's argmax at that position; then the target's own token.
//   sampled  rejection sampling (Leviathan et al. 2023; Chen et al. 2023): accept draft x with probability
//            min(1, p(x) / q(x)); on rejection draw from normalise(max(p - q, 0)); if every draft is accepted,
//            draw one bonus token from p. The emitted tokens are then distributed exactly as the target's.
import { argmax, probabilities, sampleFrom } from '../sampling/sampler.ts';
import type { SamplingParams } from '../sampling/types.ts';
import type { Proposal } from './types.ts';

export interface Verdict {
  accepted: number; // drafts kept
  tokens: number[]; // the kept drafts, then one token from the target
}

/**
 * The target's rows: row i follows the last token and drafts 0..i-1 (drafts + 1 rows). Greedy verification reads only
 * argmax (the engine's runner computes it on the GPU); sampled verification reads the logits.
 */
export interface TargetRows {
  argmax(i: number): number;
  logits(i: number): Float32Array;
}

/** TargetRows over logits held on the CPU. */
export const rowsOf = (logits: readonly Float32Array[]): TargetRows => ({
  argmax: (i) => argmax(logits[i]!),
  logits: (i) => logits[i]!,
});

export function verify(
  proposal: Proposal,
  rows: TargetRows,
  params: SamplingParams,
  random: () => number,
  keepResidual = true,
): Verdict {
  const drafts = proposal.tokens;
  const out: number[] = [];
  for (let i = 0; i < drafts.length; i++) {
    const x = drafts[i]!;
    if (params.temperature === 0) {
      const t = rows.argmax(i);
      if (t !== x) return { accepted: i, tokens: [...out, t] };
      out.push(x);
      continue;
    }
    const p = probabilities(rows.logits(i), params);
    const q = proposal.probs?.[i];
    const qx = q ? q[x]! : 1; // a deterministic draft is a one-hot distribution
    if (random() * qx < p[x]!) {
      out.push(x);
      continue;
    }
    // `keepResidual = false` exists only so a test can show that dropping the residual biases the output.
    const residual = keepResidual ? residualOf(p, q, x) : p;
    return { accepted: i, tokens: [...out, sampleFrom(residual, random())] };
  }
  const k = drafts.length;
  const bonus = params.temperature === 0 ? rows.argmax(k) : sampleFrom(probabilities(rows.logits(k), params), random());
  return { accepted: drafts.length, tokens: [...out, bonus] };
}

/** normalise(max(p - q, 0)); q absent means one-hot at x. */
export function residualOf(p: Float64Array, q: Float64Array | undefined, x: number): Float64Array {
  const r = new Float64Array(p.length);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const v = Math.max(0, p[i]! - (q ? q[i]! : i === x ? 1 : 0));
    r[i] = v;
    sum += v;
  }
  if (sum <= 0) return p; // p == q: rejection has probability 0, any choice is fine
  for (let i = 0; i < r.length; i++) r[i]! /= sum;
  return r;
}
