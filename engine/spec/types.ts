// Speculative decoding (the --spec toggle): a cheap drafter proposes up to `depth` tokens per sequence, the target
// scores all of them in one batched pass, and verification keeps the longest prefix the target agrees with, plus
// one token of the target's own. Each drafter is a module behind this interface; the engine only sees proposals.
import type { Sequence } from '../runtime/sequence.ts';

export const SPEC_METHODS = ['none', 'draft', 'ngram', 'layerskip'] as const;
export type SpecMethod = (typeof SPEC_METHODS)[number];

export interface Proposal {
  tokens: number[]; // may be shorter than the depth (or empty: the step is then a plain decode)
  /** The drafter's distribution for each token (after temperature/top-k/top-p); absent: a deterministic draft. */
  probs?: Float64Array[];
}

export interface Proposer {
  /**
   * Drafts for sequences whose last token is the only one not in the target's cache (seq.uncomputed === 1).
   * The target's KV blocks already cover seq.tokens.length + depth positions.
   */
  propose(seqs: Sequence[], depth: number): Promise<Proposal[]>;
  /** After verification: the target's cache is valid through seq.computed; forget drafted state beyond it. */
  rollback(seq: Sequence): void;
  /** The sequence is gone: free whatever the drafter holds for it. */
  release(seq: Sequence): void;
}
