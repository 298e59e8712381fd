// Per-request state: the tokens so far, how many of them are in the KV cache, its blocks, and the channel that
// carries its events to whoever awaits generate().
import type { SamplingParams } from '../sampling/types.ts';
import type { FinishReason, GenerationEvent, GenerationRequest } from './types.ts';

export type SeqStatus = 'waiting' | 'running' | 'finished';

export class Sequence {
  readonly id: number;
  readonly req: GenerationRequest;
  readonly tokens: number[]; // prompt then generated
  readonly promptLen: number;
  computed = 0; // positions whose K/V are in the cache
  readonly blocks: number[] = [];
  uploadedBlocks = -1; // block-table length last written to the GPU for this slot
  slot = -1;
  status: SeqStatus = 'waiting';
  finishReason: FinishReason | undefined;
  text = '';
  readonly spec = { proposed: 0, accepted: 0, steps: 0 }; // speculative decoding, for per-request stats
  readonly t = { arrival: performance.now(), scheduled: 0, firstToken: 0, finished: 0 };
  /** Events waiting for the consumer, and the wake-up of a consumer waiting for events. */
  readonly pending: GenerationEvent[] = [];
  wake: (() => void) | undefined;

  /** Writes this sequence's block table to the runner if it changed since the last write (engine, drafter). */
  syncBlockTable(runner: { setBlockTable(slot: number, blocks: readonly number[]): void }): void {
    if (this.uploadedBlocks === this.blocks.length) return;
    runner.setBlockTable(this.slot, this.blocks);
    this.uploadedBlocks = this.blocks.length;
  }

  constructor(id: number, req: GenerationRequest) {
    this.id = id;
    this.req = req;
    this.tokens = [...req.promptIds];
    this.promptLen = req.promptIds.length;
  }

  get sampling(): SamplingParams {
    return this.req.sampling;
  }

  get generated(): number {
    return this.tokens.length - this.promptLen;
  }

  /** Tokens known but not yet in the KV cache: the prompt (or all tokens after preemption), then the last sample. */
  get uncomputed(): number {
    return this.tokens.length - this.computed;
  }

  emit(ev: GenerationEvent): void {
    this.pending.push(ev);
    this.notify();
  }

  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
