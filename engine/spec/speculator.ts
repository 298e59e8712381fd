// The engine's side of speculative decoding: attach drafts to a step's decodes, keep the counters the stats and
// /metrics report. Verification itself is verify.ts; drafting is the Proposer's.
import type { Chunk } from '../runtime/scheduler.ts';
import type { Sequence } from '../runtime/sequence.ts';
import type { EngineMetrics } from '../runtime/types.ts';
import type { Proposer } from './types.ts';

export class Speculator {
  private proposed = 0;
  private accepted = 0;
  private steps = 0;
  private rejections = 0; // steps that rejected a draft (the rest accepted every draft)
  private readonly acceptedHist: number[]; // verification steps by drafts accepted
  private readonly proposedHist: number[]; // verification steps by drafts proposed

  constructor(
    readonly proposer: Proposer,
    readonly depth: number,
    private readonly maxSeqLen: number,
  ) {
    this.acceptedHist = new Array<number>(depth + 1).fill(0);
    this.proposedHist = new Array<number>(depth + 1).fill(0);
  }

  /** Attaches drafts to the decodes of this step (a decode then verifies 1 + drafts positions). */
  async attach(chunks: Chunk[]): Promise<void> {
    const decodes = chunks.filter((c) => c.sample && c.count === 1 && c.seq.uncomputed === 1);
    if (decodes.length === 0) return;
    const proposals = await this.proposer.propose(
      decodes.map((c) => c.seq),
      this.depth,
    );
    for (const [i, c] of decodes.entries()) {
      const p = proposals[i]!;
      // Drafts past the context or the request's token budget could never be kept.
      const room = Math.min(this.maxSeqLen - c.seq.tokens.length, c.seq.req.maxTokens - c.seq.generated - 1);
      if (p.tokens.length > room) {
        p.tokens.length = Math.max(0, room);
        if (p.probs) p.probs.length = p.tokens.length;
      }
      if (p.tokens.length === 0) continue;
      c.draft = p;
      c.count = 1 + p.tokens.length;
    }
  }

  record(seq: Sequence, proposed: number, accepted: number): void {
    this.proposed += proposed;
    this.accepted += accepted;
    this.steps++;
    this.acceptedHist[accepted]!++;
    this.proposedHist[proposed]!++;
    if (accepted < proposed) this.rejections++;
    seq.spec.proposed += proposed;
    seq.spec.accepted += accepted;
    seq.spec.steps++;
  }

  metrics(): NonNullable<EngineMetrics['spec']> {
    return {
      proposedTotal: this.proposed,
      acceptedTotal: this.accepted,
      stepsTotal: this.steps,
      rejectionsTotal: this.rejections,
      acceptedHistogram: [...this.acceptedHist],
      proposedHistogram: [...this.proposedHist],
    };
  }
}
