// Decoding ahead: while the GPU runs a greedy decode step, the engine keeps the AHEAD_STEPS steps after it
// submitted, each taking its tokens from the step before's argmax (RunOptions.feedTokens), so the GPU goes from one
// step to the next without waiting for the CPU to read a token back, look at it and submit again. On an H100 that
// round trip left the GPU idle ~1 ms of every 2.8 ms llama-1b step (docs/benchmarks.md). A step ahead is only taken
// when it is certain to be wanted or harmless: every row a plain greedy decode, nobody waiting to be admitted, no
// sequence ending by length at the step before it, KV blocks for one more position in hand. A sequence that stops
// earlier (EOS, stop string, cancel) had the positions ahead computed for nothing; their results are dropped
// (Engine.postprocess skips rows of finished sequences) and their KV writes land in blocks it still held when the
// steps were submitted.
import type { ModelConfig } from '../model/config.ts';
import type { BlockManager } from './block-manager.ts';
import type { ModelRunner, StepInput } from './model-runner.ts';
import type { Chunk, Scheduler } from './scheduler.ts';

// Why two steps ahead, not one: the CPU must read step N and submit step N + 2 before the GPU finishes N + 1, so
// one step ahead left it a single step's time (2.6 ms for llama-7b int4 on an H100) to absorb any stall, and V8's
// scavenges of dawn.node's polling garbage pause it 1-5 ms every ~100 steps (--trace-gc). Per-step timestamps, 1280
// int4 steps in one machine session: the GPU idle 267 ms in all with one step ahead, 104 ms with two.
export const AHEAD_STEPS = 2;

/** The --decode-ahead toggle's values. */
export const DECODE_AHEAD_MODES = ['on', 'off'] as const;
export type DecodeAhead = (typeof DECODE_AHEAD_MODES)[number];

/**
 * The decode step after `chunks` (a step in flight: the running one, or one already submitted behind it) fed on the
 * GPU, or undefined when it must wait.
 */
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
    // Steps in flight before this one whose tokens are not appended yet (0 for the running step): with this one
    // they append `pending + 1` tokens, and the sequence ends there by length unless there is room for another.
    const pending = c.start - (seq.tokens.length - 1);
    const after = pending + 1;
    if (seq.generated + after >= seq.req.maxTokens || seq.tokens.length + after >= config.maxSeqLen) return undefined;
  }
  // The step ahead writes KV at the position after this one's.
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
