// Drafting with a model: a separate draft model with its own paged KV cache (--spec draft), or the target's own
// first L layers plus its final norm and classifier (--spec layerskip, sharing the target's cache: the verify pass
// rewrites every position the drafter touched). Runs `depth` rounds, all sequences batched in each round.

import type { BlockManager } from '../runtime/block-manager.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import type { Sequence } from '../runtime/sequence.ts';
import { Pcg32 } from '../sampling/rng.ts';
import { probabilities, sampleFrom } from '../sampling/sampler.ts';
import type { Proposal, Proposer } from './types.ts';

interface DraftState {
  blocks: number[]; // own blocks (draft model) or the target's (layer skip)
  computed: number; // positions of this sequence whose drafter KV is valid
  rng: Pcg32;
}

export interface DrafterOptions {
  runner: ModelRunner;
  exitLayer: number; // layers the drafter runs (all of them for a draft model)
  /** The draft model's own pool; absent: the drafter shares the target's cache and blocks (layer skip). */
  blocks?: BlockManager;
}

export class ModelDrafter implements Proposer {
  private readonly state = new Map<Sequence, DraftState>();
  // What each slot's block-table row holds: slots are reused by other sequences after a finish or preemption.
  private readonly slotTable = new Map<number, { seq: Sequence; blocks: string }>();

  constructor(private readonly o: DrafterOptions) {}

  async propose(seqs: Sequence[], depth: number): Promise<Proposal[]> {
    const proposals = seqs.map((): Proposal => ({ tokens: [], probs: [] }));
    const live: { seq: Sequence; st: DraftState; p: Proposal }[] = [];
    for (const [i, seq] of seqs.entries()) {
      const st = this.stateOf(seq);
      // A draft model needs blocks for every position it will write: catch-up, then depth - 1 drafts.
      if (this.o.blocks && !this.o.blocks.grow(st.blocks, seq.tokens.length + depth - 1)) continue;
      if (!this.o.blocks) st.computed = seq.computed; // layer skip: the target's cache is the drafter's
      this.upload(seq, st);
      live.push({ seq, st, p: proposals[i]! });
    }
    if (live.length === 0) return proposals;
    await this.catchUp(live);
    // Round r feeds each sequence's newest token (its last real token, then its drafts) and drafts the next one.
    let feed = live.map(({ seq }) => seq.tokens[seq.tokens.length - 1]!);
    for (let r = 0; r < depth; r++) {
      const pos = (k: number) => live[k]!.seq.tokens.length - 1 + r;
      const out = await this.o.runner.run(
        {
          tokens: feed,
          positions: live.map((_, k) => pos(k)),
          slots: live.map(({ seq }) => seq.slot),
          outRows: live.map((_, k) => k),
        },
        {
          exitLayer: this.o.exitLayer,
          // Greedy drafts need only the argmax; sampled ones their distribution.
          logitRows: live.flatMap(({ seq }, k) => (seq.sampling.temperature > 0 ? [k] : [])),
        },
      );
      feed = live.map(({ seq, st, p }, k) => {
        st.computed = pos(k) + 1;
        const params = seq.sampling;
        if (params.temperature === 0) {
          const t = out.argmax(k);
          p.tokens.push(t);
          return t;
        }
        const row = out.logits(k);
        const q = probabilities(row, params);
        const t = sampleFrom(q, st.rng.random());
        p.tokens.push(t);
        p.probs!.push(q);
        return t;
      });
    }
    for (const p of proposals) if (p.probs?.length === 0) delete p.probs;
    return proposals;
  }

  /** Brings the drafter's cache up to each sequence's last token (new prompts, tokens the target added). */
  private async catchUp(live: { seq: Sequence; st: DraftState }[]): Promise<void> {
    const budget = this.o.runner.options.maxTokens;
    for (;;) {
      const tokens: number[] = [];
      const positions: number[] = [];
      const slots: number[] = [];
      for (const { seq, st } of live) {
        const end = seq.tokens.length - 1; // the last token is fed by round 0
        while (st.computed < end && tokens.length < budget) {
          tokens.push(seq.tokens[st.computed]!);
          positions.push(st.computed);
          slots.push(seq.slot);
          st.computed++;
        }
      }
      if (tokens.length === 0) return;
      await this.o.runner.step({ tokens, positions, slots, outRows: [] }, this.o.exitLayer);
    }
  }

  private stateOf(seq: Sequence): DraftState {
    let st = this.state.get(seq);
    if (!st) {
      const seed = seq.sampling.seed;
      st = {
        blocks: this.o.blocks ? [] : seq.blocks,
        computed: 0,
        // Its own stream: drafting must not shift the target's random draws (reproducibility by seed).
        rng: seed === undefined ? Pcg32.fromSeed() : new Pcg32(BigInt(Math.trunc(seed)), 55),
      };
      this.state.set(seq, st);
    }
    return st;
  }

  private upload(seq: Sequence, st: DraftState): void {
    if (!this.o.blocks) {
      // Layer skip shares the target runner, whose table the engine keeps in step with seq.uploadedBlocks.
      seq.syncBlockTable(this.o.runner);
      return;
    }
    const blocks = st.blocks.join(',');
    const held = this.slotTable.get(seq.slot);
    if (held?.seq === seq && held.blocks === blocks) return;
    this.o.runner.setBlockTable(seq.slot, st.blocks);
    this.slotTable.set(seq.slot, { seq, blocks });
  }

  rollback(seq: Sequence): void {
    const st = this.state.get(seq);
    if (!st) return;
    st.computed = Math.min(st.computed, seq.computed);
    if (this.o.blocks) this.o.blocks.shrink(st.blocks, Math.max(st.computed, 1));
  }

  release(seq: Sequence): void {
    const st = this.state.get(seq);
    if (st && this.o.blocks) this.o.blocks.release(st.blocks);
    this.state.delete(seq);
  }
}
