// The forward pass as a list of dispatches, built once per runner: embedding, then per layer the attention and FFN
// sublayers, then the final norm, the classifier and the argmax. Each dispatch's grid is a function of the step's
// token count, out rows and longest context, so one list serves every step; a grid of zero skips a dispatch (how
// the runner picks the matrix-vector or the tiled kernel of a linear layer per step). model-runner.ts encodes them.
import type { GpuContext } from '../device/device.ts';
import { kernelPipeline } from '../device/kernels.ts';
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorNames } from '../model/config.ts';
import { type AttentionBuffers, attentionPlan } from '../ops/attention.ts';
import { fusedLinears } from '../ops/fusion.ts';
import { intDotFits, intDotParams } from '../ops/int-dot.ts';
import { checkKvFormat, kvBytesPerPosition, kvFormatCode, ropeKvInvocations } from '../ops/kv-cache.ts';
import { subgroupMatrixOn } from '../ops/subgroup-matrix.ts';
import {
  TILED_MIN_TOKENS,
  tiledLaunch,
  tiledSplits,
  tiledStepSplits,
  tiledWorkgroupSize,
} from '../ops/tiled-launch.ts';
import { defaultLinearParams, INT_DOT_FEATURE, linearGrid, linearLaunch } from '../ops/weight-formats.ts';
import { bindGroup, storageBuffer } from './gpu-buffers.ts';
import { CLASSIFIER, type GpuWeights } from './gpu-weights.ts';
import type { RunnerOptions } from './model-runner.ts';

export interface Dispatch {
  name: string; // kernel or weight name without the layer ('rmsnorm', 'wq', 'attention'): what a profile groups by
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  // Grid for a step of t tokens, r output rows, and len the longest context of its tokens (positions + 1).
  size: (t: number, r: number, len: number) => [number, number, number];
  // Whether the grid depends on len (attention's splits): the runner computes the others once per step shape.
  byContext?: boolean;
}

/** The runner's buffers the pass reads and writes besides its own scratch. */
export interface StepBuffers {
  tokens: GPUBuffer; // [T]
  positions: GPUBuffer; // [T]
  slots: GPUBuffer; // [T]
  outRows: GPUBuffer; // [R]
  counts: GPUBuffer; // {n_tokens, n_out}
  blockTable: GPUBuffer; // [slots + padSlot, maxBlocks]
  logits: GPUBuffer; // [R, vocab]
  ids: GPUBuffer; // [R] argmax of each out row
}

export interface ForwardPass {
  // embedding + layers (body), then final norm, classifier and argmax (head). layerEnds[l] is the body length after
  // layer l, so an early exit (layer-skip self-speculation) runs a prefix of the body.
  body: Dispatch[];
  head: Dispatch[];
  layerEnds: number[];
  scratchBytes: number; // activations and kernel scratch
  kvBytes: number; // the paged KV cache
}

const MAX_DIM = 65535;
const NONE: [number, number, number] = [0, 0, 0]; // a dispatch this step does not run
/** A 1-D grid of `groups` workgroups folded over x and y (one dimension stops at 65535). */
const foldedGrid = (groups: number): [number, number, number] => {
  const gx = Math.min(groups, MAX_DIM);
  return [gx, Math.ceil(groups / gx), 1];
};
const CPU_NORM_WG = 8;
// Storage buffers of a packed matrix-vector kernel with the RoPE epilogue: bindings 0-5 and 7-11.
const ROPE_FOLD_BINDINGS = 11;
const ceil = (a: number, b: number) => Math.ceil(a / b);

export function buildForwardPass(
  ctx: Pick<
    GpuContext,
    'device' | 'isSoftware' | 'limits' | 'wgslFeatures' | 'subgroupMatrix' | 'subgroupMinSize' | 'adapterName'
  >,
  c: ModelConfig,
  o: RunnerOptions,
  weights: GpuWeights,
  io: StepBuffers,
  maxBlocksPerSeq: number,
): ForwardPass {
  const d = ctx.device;
  const software = ctx.isSoftware;
  const fused = (o.fusion ?? 'on') === 'on';
  const out: ForwardPass = { body: [], head: [], layerEnds: [], scratchBytes: 0, kvBytes: 0 };
  const WG = o.workgroupSize;
  const T = o.maxTokens;
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const f32 = (label: string, n: number) => {
    out.scratchBytes += n * 4;
    return storageBuffer(d, label, n * 4);
  };
  const x = f32('x', T * c.dim); // [T, dim] residual stream
  const xb = f32('xb', T * c.dim); // [T, dim] normed input of a sublayer
  const q = f32('q', T * qDim); // [T, nHeads * headDim] (roped)
  // Fused: wqkv's output [T, q | k | v], which rope_kv reads as both its k and v inputs (QKV).
  const qkv = fused ? f32('qkv', T * (qDim + 2 * kvDim)) : undefined;
  const k = qkv ?? f32('k', T * kvDim); // [T, nKvHeads * headDim]
  const v = qkv ?? f32('v', T * kvDim); // [T, nKvHeads * headDim]
  const att = f32('att', T * qDim); // [T, nHeads * headDim] attention output
  const gate = f32('gate', T * c.hiddenDim); // [T, hidden]: w1's output, then silu(gate) * up
  const up = fused ? undefined : f32('up', T * c.hiddenDim); // [T, hidden] (fused: stays in w13's kernel)
  const attention = attentionPlan(o.attention ?? 'flash', {
    headDim: c.headDim,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    blockSize: o.kvBlockSize,
    maxBlocks: maxBlocksPerSeq,
    maxContext: c.maxSeqLen,
    maxTokens: T,
    workgroupSize: WG,
    software,
    kvFormat: kvFormatCode(o.kvCache ?? 'f32'),
  });
  const attnScratch = attention.scratchFloats > 0 ? f32('attention-scratch', attention.scratchFloats) : undefined;
  const xo = f32('xout', o.maxOut * c.dim); // [R, dim] final-normed rows whose logits are wanted
  const { tokens, positions, slots, outRows, counts, blockTable } = io;
  const w = (name: string) => weights.f32.get(name)!;

  let list = out.body;
  const add = (
    name: string,
    constants: Record<string, number>,
    buffers: (GPUBuffer | undefined)[],
    size: Dispatch['size'],
    entryPoint = 'main',
    byContext = false,
  ) => {
    const pipeline = kernelPipeline(d, name, { WG, ...constants }, entryPoint);
    const label = entryPoint === 'main' ? name : `${name}.${entryPoint}`;
    list.push({ name: label, pipeline, bind: bindGroup(d, pipeline, buffers), size, byContext });
  };
  const format = weights.format;
  // Packed formats on GPUs have two kernels per linear layer, picked per step by its token count: the
  // matrix-vector kernel below TILED_MIN_TOKENS, the tiled one from there (weight-formats.ts). A folded norm
  // (`norm`) runs inside the matrix-vector kernel; steps of the tiled kernel run it as its own dispatch into
  // `norm.normed` and read that.
  const tiledToo = !software && format.multiRow !== false;
  // Whether a step of this many rows runs the tiled kernels; the dispatches a fold replaces run on those steps only.
  const tiledRows = (rows: number) => tiledToo && rows >= TILED_MIN_TOKENS;
  // --subgroup-matrix: the tiled steps on matrix units (kernels/matmul_mma.wgsl). Checked on every adapter, so `on`
  // where it cannot run is an error even on CPUs (which have no tiled steps).
  const mma = subgroupMatrixOn(o.subgroupMatrix ?? 'auto', ctx, format.multiRow !== false) && tiledToo;
  // Partial sums of the tiled layers whose K is split (tiled-launch.ts, tiledSplits), sized for the largest.
  const maxT = Math.max(T, o.maxOut);
  let partFloats = 0;
  for (const lw of tiledToo ? weights.linear.values() : []) {
    const splits = tiledSplits(lw.rows, lw.cols, mma);
    if (splits > 1) partFloats = Math.max(partFloats, splits * maxT * lw.rows);
  }
  // (Bound to every tiled kernel, read only by split ones: a few bytes when no layer splits.)
  const part = tiledToo ? f32('tiled-partial-sums', Math.max(partFloats, 4)) : undefined;
  const intDotOn = (o.intDot ?? 'on') === 'on' && format.intDot !== undefined;
  if (intDotOn && !ctx.wgslFeatures.includes(INT_DOT_FEATURE)) {
    throw new BenchError(
      'UNSUPPORTED',
      `--int-dot on: this WebGPU implementation lacks the WGSL feature ${INT_DOT_FEATURE}; use --int-dot off`,
    );
  }
  const workgroupBytes = ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
  const linear = (
    input: GPUBuffer,
    weight: string,
    out: GPUBuffer,
    {
      accumulate = false,
      useOutCount = false,
      swiglu = false,
      norm = undefined as { weight: string; normed: GPUBuffer } | undefined,
      // The RoPE + KV-cache epilogue on the matrix-vector steps (their y is q): its constants and cache buffers.
      rope = undefined as { constants: Record<string, number>; kCache: GPUBuffer; vCache: GPUBuffer } | undefined,
    } = {},
  ) => {
    const lw = weights.linear.get(weight)!;
    const shape = { rows: lw.rows, cols: lw.cols, accumulate, useOutCount, swiglu };
    const paired = swiglu || rope !== undefined;
    // --int-dot: every integer layer whose K fits the kernel's workgroup memory (others keep the float kernel).
    const intDot = intDotOn && intDotFits(format, lw.cols, WG, workgroupBytes);
    const launch = linearLaunch(format, {
      ...shape,
      workgroupSize: WG,
      // Measured best per format and shape (engine/ops/weight-formats.ts, int-dot.ts): a row per thread on CPUs,
      // 8-32 lanes x 2-4 rows on GPUs.
      ...(intDot
        ? intDotParams(format, lw.rows, lw.cols, software, WG, paired, {
            subgroupMinSize: ctx.subgroupMinSize,
            workgroupBytes,
          })
        : defaultLinearParams(format, lw.rows, lw.cols, software, WG, paired)),
      ...(norm ? { norm: { eps: c.normEps } } : {}),
      ...(rope ? { ropeKv: rope.constants } : {}),
      intDot,
    });
    // Binding 4 of packed kernels is the folded norm's weight; any buffer when there is none (never read).
    const byBinding = (x: GPUBuffer, normWeight: GPUBuffer | undefined, y = out) => ({
      x,
      weights: lw.words,
      y,
      counts,
      scales: lw.scales,
      norm: normWeight,
    });
    const name = weight.replace(/^layers\.\d+\./, '');
    const rowsOf = (t: number, r: number) => (useOutCount ? r : t);
    const tiledStep = (t: number, r: number) => tiledRows(rowsOf(t, r));
    const matvec = kernelPipeline(d, launch.kernel, launch.constants, 'main', launch.includes);
    const matvecBuffers = format.bindings.map(
      (k) => byBinding(input, norm ? w(norm.weight) : counts, rope ? q : out)[k],
    );
    // kernels/matmul_store_rope.wgsl's bindings 7-11.
    if (rope) Object.assign(matvecBuffers, { 7: rope.kCache, 8: rope.vCache, 9: positions, 10: slots, 11: blockTable });
    list.push({
      name,
      pipeline: matvec,
      bind: bindGroup(d, matvec, matvecBuffers),
      size: (t, r) => (tiledStep(t, r) ? NONE : linearGrid(lw.rows, rowsOf(t, r), launch.rowsPerWorkgroup)),
    });
    if (!tiledToo) return;
    const splits = tiledSplits(lw.rows, lw.cols, mma);
    const tl = tiledLaunch(format, shape, splits, maxT, mma);
    const stepSplits = (t: number, r: number) => tiledStepSplits(splits, lw.rows, rowsOf(t, r), mma);
    const tiled = kernelPipeline(d, tl.kernel, tl.constants);
    const tiledBuffers = format.bindings.map((k) => byBinding(norm ? norm.normed : input, undefined)[k]);
    list.push({
      name: `${name}.tiled`,
      pipeline: tiled,
      bind: bindGroup(d, tiled, Object.assign([...tiledBuffers], { 6: part })),
      size: (t, r) =>
        tiledStep(t, r)
          ? linearGrid(lw.rows, rowsOf(t, r), tl.rowsPerWorkgroup, tl.tokensPerWorkgroup, stepSplits(t, r))
          : NONE,
    });
    if (splits === 1) return;
    const combine = kernelPipeline(d, tl.kernel, tl.constants, 'combine');
    list.push({
      name: `${name}.combine`,
      pipeline: combine,
      bind: bindGroup(d, combine, [undefined, undefined, out, counts, undefined, undefined, part]),
      size: (t, r) =>
        tiledStep(t, r) && stepSplits(t, r) > 1
          ? foldedGrid(ceil(rowsOf(t, r) * lw.rows, tiledWorkgroupSize(mma)))
          : NONE,
    });
  };
  // CPUs reduce a row with 8 invocations (llvmpipe's SIMD width): lavapipe runs every invocation at each barrier,
  // and a row of preset:tiny took 58 us with 128 of them, 10 us with 8 (one token; 32 tokens: 182 vs 27 us).
  const normShape = { D: c.dim, EPS: c.normEps, ...(software ? { WG: CPU_NORM_WG } : {}) };
  const norm = (input: GPUBuffer, weight: string, out: GPUBuffer, onlyTiledSteps = false) =>
    add('rmsnorm', normShape, [input, w(weight), out, counts, outRows], (t) =>
      onlyTiledSteps && !tiledRows(t) ? NONE : [t, 1, 1],
    );
  // Fusion on a GPU with a packed format also folds each layer's input RMSNorm into the linear kernel that reads
  // it (weight-formats.ts, LinearShape.norm): two dispatches fewer per layer, each ~10-20 us on the H100.
  const foldNorm = fused && !software && format.multiRow !== false;
  const kvCache = o.kvCache ?? 'f32';
  checkKvFormat(kvCache, c.headDim);
  const kvShape = {
    HEAD_DIM: c.headDim,
    N_HEADS: c.nHeads,
    N_KV_HEADS: c.nKvHeads,
    BLOCK: o.kvBlockSize,
    KV_FORMAT: kvFormatCode(kvCache),
  };
  const ropeShape = { THETA: c.ropeTheta, HALF: c.ropeLayout === 'half' ? 1 : 0, MAX_BLOCKS: maxBlocksPerSeq };
  // Fusion also folds RoPE and the KV-cache store into the fused QKV linear's matrix-vector kernel
  // (kernels/matmul_store_rope.wgsl), where a thread's row pairs are rotation pairs (the interleaved layout) that fill
  // whole cache words (f32, f16 caches) and the adapter allows its storage bindings; rope_kv then runs only on steps
  // of the tiled kernel (on CPUs, never).
  const foldRope =
    fused &&
    c.ropeLayout === 'interleaved' &&
    kvCache !== 'int8' &&
    (ctx.limits.maxStorageBuffersPerShaderStage ?? 8) >= ROPE_FOLD_BINDINGS;

  add('embedding', { D: c.dim }, [tokens, w(tensorNames.embedding), x, counts, io.ids], (t) => [ceil(c.dim, WG), t, 1]);
  for (let l = 0; l < c.nLayers; l++) {
    // One block past the pool: the padding slot's scratch (padSlot).
    const cacheBytes = ((o.numBlocks + 1) * o.kvBlockSize * kvBytesPerPosition(kvCache, c.nKvHeads, c.headDim)) / 2;
    const kCache = storageBuffer(d, `k_cache.${l}`, cacheBytes); // [blocks, blockSize, nKvHeads, kvHeadWords]
    const vCache = storageBuffer(d, `v_cache.${l}`, cacheBytes); // [blocks, blockSize, nKvHeads, kvHeadWords]
    out.kvBytes += 2 * cacheBytes;
    const { wqkv, w13 } = fusedLinears(l);
    const ropeFold = foldRope ? { rope: { constants: { ...kvShape, ...ropeShape }, kCache, vCache } } : {};
    if (foldNorm) {
      norm(x, tensorNames.attnNorm(l), xb, true);
      linear(x, wqkv.name, qkv!, { norm: { weight: tensorNames.attnNorm(l), normed: xb }, ...ropeFold });
    } else {
      norm(x, tensorNames.attnNorm(l), xb);
      if (qkv) linear(xb, wqkv.name, qkv, ropeFold);
      else {
        linear(xb, tensorNames.wq(l), q);
        linear(xb, tensorNames.wk(l), k);
        linear(xb, tensorNames.wv(l), v);
      }
    }
    const invocations = ropeKvInvocations(c.nHeads, c.headDim, c.nKvHeads, kvCache);
    if (!foldRope || tiledToo) {
      add(
        'rope_kv',
        { ...kvShape, ...ropeShape, QKV: fused ? 1 : 0 },
        [q, k, v, kCache, vCache, positions, slots, blockTable, counts],
        (t) => (foldRope && !tiledRows(t) ? NONE : [ceil(invocations, WG), t, 1]),
      );
    }
    const attnBuffers: AttentionBuffers = {
      q,
      kCache,
      vCache,
      positions,
      slots,
      blockTable,
      out: att,
      counts,
      ...(attnScratch ? { scratch: attnScratch } : {}),
    };
    for (const pass of attention.passes) {
      const buffers = pass.bindings.map((b) => (b ? attnBuffers[b] : undefined));
      add(pass.kernel, pass.constants, buffers, (t, _r, len) => pass.grid(t, len), pass.entryPoint, true);
    }
    linear(att, tensorNames.wo(l), x, { accumulate: true });
    if (foldNorm) {
      norm(x, tensorNames.ffnNorm(l), xb, true);
      linear(x, w13.name, gate, { swiglu: true, norm: { weight: tensorNames.ffnNorm(l), normed: xb } });
    } else {
      norm(x, tensorNames.ffnNorm(l), xb);
      if (!up) linear(xb, w13.name, gate, { swiglu: true });
      else {
        linear(xb, tensorNames.w1(l), gate);
        linear(xb, tensorNames.w3(l), up);
        add('swiglu', { H: c.hiddenDim }, [gate, up, counts], (t) => foldedGrid(ceil(t * c.hiddenDim, WG)));
      }
    }
    linear(gate, tensorNames.w2(l), x, { accumulate: true });
    out.layerEnds.push(out.body.length);
  }
  list = out.head;
  const finalNorm = w(tensorNames.finalNorm);
  add('rmsnorm', { ...normShape, GATHER: 1 }, [x, finalNorm, xo, counts, outRows], (_t, r) => [r, 1, 1]);
  // The classifier only for the rows whose logits are wanted (USE_OUT_COUNT: R rows, not T).
  linear(xo, CLASSIFIER, io.logits, { useOutCount: true });
  // Argmax in two passes: segments of SEG logits in parallel, then the segments' winners (kernels/argmax.wgsl).
  const argmaxWG = software ? CPU_NORM_WG : 256;
  const seg = software ? c.vocabSize : argmaxWG * 16;
  const segments = ceil(c.vocabSize, seg);
  const pairs = f32('argmax-pairs', o.maxOut * segments * 2);
  const argmax = { WG: argmaxWG, V: c.vocabSize, P: segments, SEG: seg };
  add('argmax', argmax, [io.logits, undefined, counts, pairs], (_t, r) => [segments, r, 1], 'partial');
  add('argmax', argmax, [undefined, io.ids, counts, pairs], (_t, r) => [r, 1, 1]);
  return out;
}
