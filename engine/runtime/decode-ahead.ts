// Decoding ahead: while the GPU runs a greedy decode step, the engine submits the step after it, whose tokens the GPU
// takes from the running step's argmax (RunOptions.feedTokens), so the GPU goes from one step to the next without
// waiting for the CPU to read a token back, look at it and submit again. On an H100 that round trip left the GPU
// idle ~1 ms of every 2.8 ms llama-1b step (docs/benchmarks.md). The step ahead is only taken when it is certain
// to be wanted or harmless: every row a plain greedy decode, nobody waiting to be admitted, no sequence ending by
// length at the running step, KV blocks for one more position in hand. A sequence that stops at the running step
// (EOS, stop string, cancel) had one position computed for nothing; the result is dropped (Engine.postprocess skips
// rows of finished sequences) and its KV write lands in blocks it still held when the step was submitted.
import type { ModelConfig } from '../model/config.ts';
import type { BlockManager } from './block-manager.ts';
import type { ModelRunner, StepInput } from './model-runner.ts';
import type { Chunk, Scheduler } from './scheduler.ts';

/** The --decode-ahead toggle's values. */
export const DECODE_AHEAD_MODES = ['on', 'off'] as const;
export type DecodeAhead = (typeof DECODE_AHEAD_MODES)[number];

/** The decode step after `chunks` (the step now in flight) fed on the GPU, or undefined when it must wait. */
export function decodeAhead(
  chunks: readonly Chunk[],
  scheduler: Scheduler,
  blocks: BlockManager,
  runner: ModelRunner,
  config: ModelConfig,
): { chunks: Chunk[]; input: StepInput } | undefined {
  if (chunks.length === 0 || scheduler.admitting || scheduler.padding.length > 0) return undefined;
  for (const c of chunks) {
    const seq = c.seq;
    if (c.count !== 1 || !c.sample || c.draft || seq.status !== 'running' || seq.sampling.temperature !== 0) {
      return undefined;
    }
    // The running step appends one token; the sequence ends there by length unless there is room for another.
    if (seq.generated + 1 >= seq.req.maxTokens || seq.tokens.length + 1 >= config.maxSeqLen) return undefined;
  }
  // The step ahead writes KV at the position after the running one's.
  for (const c of chunks) if (!blocks.grow(c.seq.blocks, c.start + 2)) return undefined;
  for (const { seq } of chunks) seq.syncBlockTable(runner);
  const n = chunks.length;
  return {
    chunks: chunks.map((c) => ({ seq: c.seq, start: c.start + 1, count: 1, sample: true })),
    input: {
      tokens: new Array(n).fill(0), // fed: out row i of the running step becomes token i
      positions: chunks.map((c) => c.start + 1),
      slots: chunks.map((c) => c.seq.slot),
      outRows: Array.from({ length: n }, (_, i) => i),
    },
  };
}
