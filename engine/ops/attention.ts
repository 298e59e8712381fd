// Attention kernels (the --attention toggle): causal attention of each step token over its sequence's paged KV
// cache, grouped-query heads sharing a KV head. Each kind is a list of passes the runner encodes per layer.
//   naive  kernels/attention.wgsl: a workgroup per (head, token); all scores to a scratch row, softmax, weighted sum.
//   flash  one pass over the cache with an online softmax, no scores in memory. GPUs: kernels/attention_flash.wgsl,
//          tiles of positions per workgroup (on steps of 16+ tokens, the query heads of a KV head in one workgroup),
//          contexts split over workgroups (flash-decoding) and merged by its `combine` pass.
//          CPUs: kernels/attention_flash_rows.wgsl, one invocation per (token, head), no barriers.
import { BenchError } from '../errors.ts';

export const ATTENTION_KINDS = ['naive', 'flash'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export interface AttentionShape {
  headDim: number;
  nHeads: number;
  nKvHeads: number;
  blockSize: number; // KV block
  maxBlocks: number; // block-table row length
  maxContext: number; // the model's context: the longest a sequence gets
  maxTokens: number; // tokens per step: scratch rows
  workgroupSize: number;
  software: boolean; // a CPU adapter (lavapipe)
  kvFormat?: number; // the KV cache's storage (engine/ops/kv-cache.ts kvFormatCode; default f32)
  splitAlign?: number; // flash on GPUs: split lengths are multiples of this (default 32; tests use small ones)
  // flash on GPUs: no more splits than keep a step's workgroups (head groups x tokens x splits) near this many (default
  // SPLIT_TARGET; 0: no cap)
  splitTarget?: number;
  // flash on GPUs: query heads per workgroup, sharing their KV head's reads (default headGroup(); 1 gives a workgroup
  // per head), for steps of at least groupMinTokens tokens (default GROUP_MIN_TOKENS)
  headGroup?: number;
  groupMinTokens?: number;
}

/**
 * Flash attention's workgroups per step (head groups x tokens x splits) beyond which contexts are not split further: a
 * batch already gives the GPU (132 SMs on an H100) enough workgroups, and more splits only add launches, partial
 * results and merging. llama-1b at 128 sequences (position ~256-384): 49152 workgroups of one 32-position tile each
 * before, 4096 of the whole context with the cap (1024 with its query heads in groups of 4).
 */
export const SPLIT_TARGET = 1024;

/**
 * Steps of fewer tokens run flash attention a workgroup per query head: a batch-1 decode of llama-1b (8 KV heads)
 * would otherwise have 8 x splits workgroups, fewer than an H100's 132 SMs.
 */
export const GROUP_MIN_TOKENS = 16;

/** Query heads per flash workgroup: 4, 2 or 1, the most that divides the heads sharing a KV head. */
export function headGroup(nHeads: number, nKvHeads: number): number {
  const perKv = nHeads / nKvHeads;
  return perKv % 4 === 0 ? 4 : perKv % 2 === 0 ? 2 : 1;
}

/** The buffers attention reads and writes, by the names the passes bind. */
export interface AttentionBuffers {
  q: GPUBuffer;
  kCache: GPUBuffer;
  vCache: GPUBuffer;
  positions: GPUBuffer;
  slots: GPUBuffer;
  blockTable: GPUBuffer;
  scratch?: GPUBuffer; // scratchFloats of the plan, shared by every layer
  out: GPUBuffer;
  counts: GPUBuffer;
}
type Name = keyof AttentionBuffers;

export interface AttentionPass {
  kernel: string;
  entryPoint?: string;
  constants: Record<string, number>;
  bindings: (Name | undefined)[]; // binding i -> buffer; undefined: unused by this entry point
  grid: (tokens: number, len: number) => [number, number, number]; // len: the step's longest context
}

export interface AttentionPlan {
  scratchFloats: number;
  passes: AttentionPass[];
}

const MAX_DIM = 65535;
const NONE: [number, number, number] = [0, 0, 0]; // a pass this step does not run
const MAX_HEAD_DIM = 256; // the flash kernels' MAX_D4 * 4
const ALL: Name[] = ['q', 'kCache', 'vCache', 'positions', 'slots', 'blockTable', 'scratch', 'out', 'counts'];

/** Groups folded over x and y, as the row-per-invocation kernels index them. */
const folded = (groups: number): [number, number, number] => {
  const gx = Math.min(Math.max(groups, 1), MAX_DIM);
  return [gx, Math.ceil(groups / gx), 1];
};

export function attentionPlan(kind: AttentionKind, s: AttentionShape): AttentionPlan {
  const shape = {
    HEAD_DIM: s.headDim,
    N_HEADS: s.nHeads,
    N_KV_HEADS: s.nKvHeads,
    BLOCK: s.blockSize,
    MAX_BLOCKS: s.maxBlocks,
    KV_FORMAT: s.kvFormat ?? 0,
  };
  if (kind === 'naive') {
    return {
      scratchFloats: s.maxTokens * s.nHeads * s.maxContext, // [T, heads, context] scores
      passes: [
        {
          kernel: 'attention',
          // On a CPU every invocation of a workgroup runs at each barrier, busy or not: a narrow workgroup wastes less.
          constants: { WG: s.software ? 16 : s.workgroupSize, ...shape, MAX_CTX: s.maxContext },
          bindings: ALL,
          grid: (t) => [s.nHeads, t, 1],
        },
      ],
    };
  }
  if (s.headDim % 4 !== 0 || s.headDim > MAX_HEAD_DIM) {
    throw new BenchError(
      'UNSUPPORTED',
      `--attention flash needs a head dimension that is a multiple of 4, at most ${MAX_HEAD_DIM} (this model: ${s.headDim}): use --attention naive`,
    );
  }
  if (s.software) {
    const WG = 8; // llvmpipe's SIMD width on AVX2: a workgroup is 8 heads walking the same positions
    const bindings: (Name | undefined)[] = [
      'q',
      'kCache',
      'vCache',
      'positions',
      'slots',
      'blockTable',
      'out',
      'counts',
    ];
    return {
      scratchFloats: 0,
      passes: [
        {
          kernel: 'attention_flash_rows',
          constants: { WG, ...shape },
          bindings,
          grid: (t) => folded(Math.ceil((t * s.nHeads) / WG)),
        },
      ],
    };
  }
  // A thread holds one vec4 of a head's output, so a workgroup has at least headDim / 4 threads; 8 threads share a
  // position's score (PARTS, fewer where 8 does not divide the workgroup). Contexts are cut into at most 16 splits
  // of a multiple of 32 positions: a batch-1 decode at a few hundred positions already spreads over heads x 9
  // workgroups, and the partial results stay small.
  const WG = Math.max(s.workgroupSize, s.headDim / 4);
  const align = s.splitAlign ?? 32;
  const maxSplits = Math.min(16, Math.ceil(s.maxContext / align));
  const target = s.splitTarget ?? SPLIT_TARGET;
  const group = s.headGroup ?? headGroup(s.nHeads, s.nKvHeads);
  if (![1, 2, 4].includes(group) || (s.nHeads / s.nKvHeads) % group !== 0) {
    throw new Error(`flash attention: a head group (${group}) is 1, 2 or 4 and divides ${s.nHeads / s.nKvHeads}`);
  }
  const constants = {
    WG,
    PARTS: gcd(WG, 8),
    ...shape,
    MAX_SPLITS: maxSplits,
    SPLIT_ALIGN: align,
    SPLIT_TARGET: target,
  };
  // Splits grow with the context, so the step's longest one bounds the grid; with none above one split (short
  // contexts, or batches past the target) the combine pass is not dispatched at all. The kernel caps them the same
  // way (max_splits).
  const capped = (t: number, groups: number) =>
    target > 0 ? Math.min(maxSplits, Math.max(1, Math.floor(target / (groups * t)))) : maxSplits;
  // The attention and combine passes of one grouping, run on the steps `runs` picks (nothing on the others).
  const pair = (g: number, runs: (t: number) => boolean): AttentionPass[] => {
    const groups = s.nHeads / g;
    const splits = (t: number, len: number) => flashSplits(len, align, capped(t, groups));
    const c = { ...constants, GROUP: g };
    return [
      {
        kernel: 'attention_flash',
        constants: c,
        bindings: ALL,
        grid: (t, len) => (runs(t) ? [groups, t, splits(t, len)] : NONE),
      },
      {
        kernel: 'attention_flash',
        entryPoint: 'combine',
        constants: c,
        bindings: [undefined, undefined, undefined, 'positions', undefined, undefined, 'scratch', 'out', 'counts'],
        grid: (t, len) => (runs(t) && splits(t, len) > 1 ? [s.nHeads, t, 1] : NONE),
      },
    ];
  };
  const minTokens = s.groupMinTokens ?? GROUP_MIN_TOKENS;
  return {
    scratchFloats: s.maxTokens * s.nHeads * maxSplits * (s.headDim + 2), // [T, heads, splits, m, l, output]
    passes:
      group === 1 ? pair(1, () => true) : [...pair(1, (t) => t < minTokens), ...pair(group, (t) => t >= minTokens)],
  };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Splits of a context of `len` positions in kernels/attention_flash.wgsl (split_len / n_splits there). */
export function flashSplits(len: number, align: number, maxSplits: number): number {
  const even = Math.ceil(len / maxSplits);
  const splitLen = Math.max(align, Math.ceil(even / align) * align);
  return Math.ceil(len / splitLen);
}
