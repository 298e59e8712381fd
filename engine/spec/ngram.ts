// Prompt lookup (n-gram) drafting, no draft model: find the latest earlier occurrence of the sequence's last n
// tokens (n from ngramSize down to 1) in its prompt and generated text, and propose what followed it. Free to run,
// and strong wherever outputs repeat their inputs (code edits, summaries, extraction; the synthetic presets' loops).
import type { Sequence } from '../runtime/sequence.ts';
import type { Proposal, Proposer } from './types.ts';

export function lookup(tokens: readonly number[], ngramSize: number, depth: number): number[] {
  const len = tokens.length;
  for (let n = Math.min(ngramSize, len - 1); n >= 1; n--) {
    // Latest match first: recent context predicts best. The match must end before the suffix itself.
    for (let start = len - n - 1; start >= 0; start--) {
      let same = true;
      for (let j = 0; j < n && same; j++) same = tokens[start + j] === tokens[len - n + j];
      if (same) return tokens.slice(start + n, Math.min(len, start + n + depth));
    }
  }
  return [];
}

export class NgramProposer implements Proposer {
  constructor(private readonly ngramSize: number) {}

  async propose(seqs: Sequence[], depth: number): Promise<Proposal[]> {
    return seqs.map((s) => ({ tokens: lookup(s.tokens, this.ngramSize, depth) }));
  }

  rollback(): void {}
  release(): void {}
}
