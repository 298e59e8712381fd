// Which tokens of which sequences go into the next step. Policies (the --batch toggle):
//   none        one sequence at a time, FIFO
//   static      a batch of up to maxBatch is admitted when the previous batch has fully finished; the batch keeps
//               its shape until then, as static batching runs a fixed [batch, ...] tensor: a finished sequence's
//               row goes on being computed as padding (its positions keep advancing, its output is discarded),
//               which is the cost continuous batching exists to remove (Orca, OSDI '22, section 2)
//   continuous  sequences join and leave every step (Orca/vLLM iteration-level scheduling)
// Every step takes decodes first (one token per running sequence), then prompt chunks within the token budget.
// When the KV pool runs dry, the most recently admitted sequence is preempted: its blocks are freed and it is
// recomputed later from its tokens, so nothing is ever corrupted.
import type { Proposal } from '../spec/types.ts';
import type { BlockManager } from './block-manager.ts';
import type { Sequence } from './sequence.ts';

export type BatchMode = 'none' | 'static' | 'continuous';

export interface SchedulerLimits {
  maxBatch: number; // running sequences (1 when mode is none)
  maxNumTokens: number; // tokens per step
  prefillChunk: number; // max prompt tokens of one sequence per step (0 = up to maxNumTokens)
  lookahead: number; // speculative depth: a decode may carry this many draft tokens, so it reserves room for them
  maxContext: number; // the model's context: padding rows stop there
}

export interface Chunk {
  seq: Sequence;
  start: number; // first position
  count: number;
  sample: boolean; // the chunk ends at the sequence's last token: sample the next one
  draft?: Proposal; // speculative tokens appended to a decode (count = 1 + draft.tokens.length)
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  preemptions = 0;
  /** Positions of the padding rows in the step schedule() just planned (static mode; run on the runner's padSlot). */
  padding: number[] = [];
  private padRows: number[] = []; // next position of each finished row of the running static batch
  private readonly freeSlots: number[];

  constructor(
    readonly mode: BatchMode,
    private readonly blocks: BlockManager,
    readonly limits: SchedulerLimits,
  ) {
    const n = mode === 'none' ? 1 : limits.maxBatch;
    this.freeSlots = Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /** Whether the next schedule() would admit a waiting sequence (so the next step is not just the running decodes). */
  get admitting(): boolean {
    if (this.waiting.length === 0 || (this.mode === 'static' && this.running.length > 0)) return false;
    return this.running.length < (this.mode === 'none' ? 1 : this.limits.maxBatch);
  }

  add(seq: Sequence): void {
    this.waiting.push(seq);
  }

  /** Removes a finished or cancelled sequence and frees its blocks and slot. */
  finish(seq: Sequence): void {
    const i = this.running.indexOf(seq);
    if (i >= 0) {
      this.running.splice(i, 1);
      this.freeSlots.push(seq.slot);
      if (this.mode === 'static') {
        if (this.running.length === 0) this.padRows = [];
        else this.padRows.push(seq.tokens.length - 1); // the position its next decode would have had
      }
    } else {
      const w = this.waiting.indexOf(seq);
      if (w >= 0) this.waiting.splice(w, 1);
    }
    this.blocks.release(seq.blocks);
    seq.slot = -1;
    seq.status = 'finished';
  }

  schedule(): Chunk[] {
    this.admit();
    const chunks: Chunk[] = [];
    let budget = this.limits.maxNumTokens;
    // Decodes first: they are latency-critical and cost one token each (plus room for speculative drafts).
    const cost = 1 + this.limits.lookahead;
    for (const seq of [...this.running]) {
      if (seq.status !== 'running' || seq.uncomputed !== 1 || budget < cost) continue;
      if (!this.reserve(seq, seq.tokens.length + this.limits.lookahead)) continue; // seq itself was preempted
      chunks.push({ seq, start: seq.computed, count: 1, sample: true });
      budget -= cost;
    }
    for (const seq of this.running) {
      if (seq.uncomputed <= 1 || budget === 0 || chunks.some((c) => c.seq === seq)) continue;
      let count = Math.min(seq.uncomputed, budget);
      if (this.limits.prefillChunk > 0) count = Math.min(count, this.limits.prefillChunk);
      if (!this.blocks.grow(seq.blocks, seq.computed + count)) continue; // wait for blocks to free up
      chunks.push({ seq, start: seq.computed, count, sample: count === seq.uncomputed });
      budget -= count;
    }
    this.padding = this.padRows.slice(0, budget);
    this.padRows = this.padRows.map((p) => p + 1).filter((p) => p < this.limits.maxContext);
    return chunks;
  }

  private admit(): void {
    const capacity = this.mode === 'none' ? 1 : this.limits.maxBatch;
    if (this.mode === 'static' && this.running.length > 0) return;
    while (this.waiting.length > 0 && this.running.length < capacity) {
      const seq = this.waiting[0]!;
      // Admit only when the whole known sequence fits, so a newcomer cannot start and then starve.
      if (!this.blocks.canGrow(seq.blocks, seq.tokens.length)) break;
      this.waiting.shift();
      seq.slot = this.freeSlots.pop()!;
      seq.uploadedBlocks = -1;
      seq.status = 'running';
      if (seq.t.scheduled === 0) seq.t.scheduled = performance.now();
      this.running.push(seq);
    }
  }

  /** Ensures blocks for `tokens` positions of a running sequence, preempting the newest others if needed. */
  private reserve(seq: Sequence, tokens: number): boolean {
    while (!this.blocks.grow(seq.blocks, tokens)) {
      const victim = this.running[this.running.length - 1]!;
      this.preempt(victim);
      if (victim === seq) return false;
    }
    return true;
  }

  private preempt(seq: Sequence): void {
    const i = this.running.indexOf(seq);
    this.running.splice(i, 1);
    this.freeSlots.push(seq.slot);
    this.blocks.release(seq.blocks);
    seq.slot = -1;
    seq.computed = 0;
    seq.status = 'waiting';
    this.waiting.unshift(seq);
    this.preemptions++;
  }
}
