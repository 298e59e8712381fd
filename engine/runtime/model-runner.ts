// The GPU side of the engine: holds the weights and the paged KV cache, and runs one step (any mix of prefill
// and decode tokens from any sequences) as one command buffer with one compute pass. Only the logits of the rows
// that sampling needs are read back.
import type { GpuContext } from '../device/device.ts';
import { kernelPipeline } from '../device/kernels.ts';
import { type ModelConfig, tensorNames } from '../model/config.ts';
import type { LoadedModel } from '../model/weights.ts';
import { type AttentionBuffers, type AttentionKind, attentionPlan } from '../ops/attention.ts';
import { type Fusion, fusedLinears } from '../ops/fusion.ts';
import {
  checkKvFormat,
  type KvCacheFormat,
  kvBytesPerPosition,
  kvFormatCode,
  ropeKvInvocations,
} from '../ops/kv-cache.ts';
import {
  defaultLinearParams,
  getWeightFormat,
  linearGrid,
  linearLaunch,
  TILED_MIN_TOKENS,
  TILED_WG,
  tiledLaunch,
  tiledSplits,
  type WeightFormat,
} from '../ops/weight-formats.ts';
import { bindGroup, storageBuffer } from './gpu-buffers.ts';
import { CLASSIFIER, GpuWeights } from './gpu-weights.ts';

export interface RunnerOptions {
  maxTokens: number; // tokens per step (prefill chunk + decodes)
  maxOut: number; // logits rows per step
  maxSeqs: number; // sequence slots (block-table rows)
  kvBlockSize: number;
  numBlocks: number; // KV blocks in the pool
  workgroupSize: number;
  weightFormat?: WeightFormat; // the linear layers' storage (--precision / --quant); default f32
  attention?: AttentionKind; // default flash
  kvCache?: KvCacheFormat; // default f32
  fusion?: Fusion; // default on: fused QKV and gate/up + SiLU linears (engine/ops/fusion.ts)
}

/** One step's tokens: token i belongs to sequence slot slots[i] at position positions[i]. */
export interface StepInput {
  tokens: ArrayLike<number>;
  positions: ArrayLike<number>;
  slots: ArrayLike<number>;
  outRows: ArrayLike<number>; // indices into tokens whose logits are returned, in order
}

/** What a step returns: every out row's argmax (computed on the GPU), and the logits of the rows read back. */
export interface StepOutput {
  /** argmax of out row i's logits, the lowest index among equal maxima. */
  argmax(i: number): number;
  /** Out row i's logits [vocab]; only rows named in RunOptions.logitRows were read back. */
  logits(i: number): Float32Array;
}

export interface RunOptions {
  exitLayer?: number; // stop after this many layers (layer-skip drafting); default all
  logitRows?: readonly number[]; // indices into outRows whose logits are read back; default all (greedy rows need none)
}

/** A dispatch of a prepared step: its profile name and how to encode it. */
export interface PreparedDispatch {
  name: string;
  encode(pass: GPUComputePassEncoder): void;
}

interface Dispatch {
  name: string; // kernel or weight name without the layer ('rmsnorm', 'wq', 'attention'): what a profile groups by
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  // Grid for a step of t tokens, r output rows, and len the longest context of its tokens (positions + 1).
  size: (t: number, r: number, len: number) => [number, number, number];
}

const MAX_DIM = 65535;
const NONE: [number, number, number] = [0, 0, 0]; // a dispatch this step does not run
/** A 1-D grid of `groups` workgroups folded over x and y (one dimension stops at 65535). */
const foldedGrid = (groups: number): [number, number, number] => {
  const gx = Math.min(groups, MAX_DIM);
  return [gx, Math.ceil(groups / gx), 1];
};
const noRows = (i: number): never => {
  throw new Error(`step had no out rows (asked for row ${i})`);
};
const CPU_NORM_WG = 8;
const ceil = (a: number, b: number) => Math.ceil(a / b);

export class ModelRunner {
  readonly config: ModelConfig;
  readonly options: RunnerOptions;
  readonly maxBlocksPerSeq: number;
  /**
   * A slot whose every block-table entry is one scratch block outside the pool: padding tokens (rows of a static
   * batch whose sequence has finished) run there at any position, costing what a real row costs, touching no
   * sequence's cache.
   */
  readonly padSlot: number;
  weightBytes = 0;
  kvBytes = 0;
  scratchBytes = 0;
  dispatchesPerStep = 0;
  readonly device: GPUDevice;
  private readonly io: Record<'tokens' | 'positions' | 'slots' | 'outRows' | 'counts' | 'blockTable', GPUBuffer>;
  private readonly logits: GPUBuffer;
  private readonly staging: GPUBuffer;
  private readonly ids: GPUBuffer; // [R] argmax of each out row
  private readonly idsStaging: GPUBuffer;
  // The command buffer of the step most likely to come next, encoded while the GPU ran the previous one.
  private prepared: { key: string; commands: GPUCommandBuffer } | undefined;
  // The forward pass as dispatches: embedding + layers (body), then final norm + classifier (head). layerEnds[l] is
  // the body length after layer l, so an early exit (layer-skip self-speculation) runs a prefix of the body.
  private readonly body: Dispatch[] = [];
  private readonly head: Dispatch[] = [];
  private readonly layerEnds: number[] = [];
  private weights!: GpuWeights;

  private readonly software: boolean;
  readonly hasTimestamps: boolean; // timestamp queries (per-kernel profiles)

  private constructor(ctx: GpuContext, config: ModelConfig, options: RunnerOptions) {
    this.device = ctx.device;
    this.software = ctx.isSoftware;
    this.hasTimestamps = ctx.hasTimestamps;
    this.config = config;
    this.options = options;
    this.maxBlocksPerSeq = ceil(config.maxSeqLen, options.kvBlockSize);
    const d = this.device;
    const u32 = (label: string, n: number) => storageBuffer(d, label, n * 4);
    this.io = {
      tokens: u32('tokens', options.maxTokens), // [T]
      positions: u32('positions', options.maxTokens), // [T]
      slots: u32('slots', options.maxTokens), // [T]
      outRows: u32('outRows', options.maxOut), // [R]
      counts: u32('counts', 4), // {n_tokens, n_out}
      blockTable: u32('blockTable', (options.maxSeqs + 1) * this.maxBlocksPerSeq), // [slots + padSlot, maxBlocks]
    };
    this.logits = storageBuffer(d, 'logits', options.maxOut * config.vocabSize * 4); // [R, vocab]
    this.staging = d.createBuffer({ label: 'logits-staging', size: this.logits.size, usage: 0x01 | 0x08 });
    this.ids = u32('ids', options.maxOut);
    this.idsStaging = d.createBuffer({ label: 'ids-staging', size: this.ids.size, usage: 0x01 | 0x08 });
    this.padSlot = options.maxSeqs;
    this.setBlockTable(this.padSlot, new Array(this.maxBlocksPerSeq).fill(options.numBlocks));
  }

  static async create(ctx: GpuContext, model: LoadedModel, options: RunnerOptions): Promise<ModelRunner> {
    const r = new ModelRunner(ctx, model.config, options);
    const format = options.weightFormat ?? getWeightFormat('f32');
    r.weights = await GpuWeights.upload(ctx.device, model, format, r.fused);
    r.weightBytes = r.weights.bytes;
    r.buildSteps();
    return r;
  }

  private get fused(): boolean {
    return (this.options.fusion ?? 'on') === 'on';
  }

  /** Encodes the forward pass once as a list of dispatches whose grid sizes depend only on T and R. */
  private buildSteps(): void {
    const c = this.config;
    const o = this.options;
    const d = this.device;
    const WG = o.workgroupSize;
    const T = o.maxTokens;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const f32 = (label: string, n: number) => {
      this.scratchBytes += n * 4;
      return storageBuffer(d, label, n * 4);
    };
    const fused = this.fused;
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
      maxBlocks: this.maxBlocksPerSeq,
      maxContext: c.maxSeqLen,
      maxTokens: T,
      workgroupSize: WG,
      software: this.software,
      kvFormat: kvFormatCode(o.kvCache ?? 'f32'),
    });
    const attnScratch = attention.scratchFloats > 0 ? f32('attention-scratch', attention.scratchFloats) : undefined;
    const xo = f32('xout', o.maxOut * c.dim); // [R, dim] final-normed rows whose logits are wanted
    const { tokens, positions, slots, outRows, counts, blockTable } = this.io;
    const w = (name: string) => this.weights.f32.get(name)!;

    let list = this.body;
    const add = (
      name: string,
      constants: Record<string, number>,
      buffers: (GPUBuffer | undefined)[],
      size: Dispatch['size'],
      entryPoint = 'main',
    ) => {
      const pipeline = kernelPipeline(d, name, { WG, ...constants }, entryPoint);
      const label = entryPoint === 'main' ? name : `${name}.${entryPoint}`;
      list.push({ name: label, pipeline, bind: bindGroup(d, pipeline, buffers), size });
    };
    const format = this.weights.format;
    // Packed formats on GPUs have two kernels per linear layer, picked per step by its token count: the
    // matrix-vector kernel below TILED_MIN_TOKENS, the tiled one from there (weight-formats.ts). A folded norm
    // (`norm`) runs inside the matrix-vector kernel; steps of the tiled kernel run it as its own dispatch into
    // `norm.normed` and read that.
    const tiledToo = !this.software && format.multiRow !== false;
    // Partial sums of the tiled layers whose K is split (weight-formats.ts, tiledSplits), sized for the largest.
    const maxT = Math.max(T, o.maxOut);
    let partFloats = 0;
    for (const lw of tiledToo ? this.weights.linear.values() : []) {
      const splits = tiledSplits(lw.rows, lw.cols);
      if (splits > 1) partFloats = Math.max(partFloats, splits * maxT * lw.rows);
    }
    // (Bound to every tiled kernel, read only by split ones: a few bytes when no layer splits.)
    const part = tiledToo ? f32('tiled-partial-sums', Math.max(partFloats, 4)) : undefined;
    const linear = (
      input: GPUBuffer,
      weight: string,
      out: GPUBuffer,
      {
        accumulate = false,
        useOutCount = false,
        swiglu = false,
        norm = undefined as { weight: string; normed: GPUBuffer } | undefined,
      } = {},
    ) => {
      const lw = this.weights.linear.get(weight)!;
      const shape = { rows: lw.rows, cols: lw.cols, accumulate, useOutCount, swiglu };
      const launch = linearLaunch(format, {
        ...shape,
        workgroupSize: WG,
        // Measured best per format (engine/ops/weight-formats.ts): a row per thread on CPUs, 32 lanes x 4 rows on GPUs.
        ...defaultLinearParams(format, this.software, WG, swiglu),
        ...(norm ? { norm: { eps: c.normEps } } : {}),
      });
      // Binding 4 of packed kernels is the folded norm's weight; any buffer when there is none (never read).
      const byBinding = (x: GPUBuffer, normWeight: GPUBuffer | undefined) => ({
        x,
        weights: lw.words,
        y: out,
        counts,
        scales: lw.scales,
        norm: normWeight,
      });
      const bind = (pipeline: GPUComputePipeline, b: ReturnType<typeof byBinding>) =>
        bindGroup(
          d,
          pipeline,
          format.bindings.map((k) => b[k]),
        );
      const name = weight.replace(/^layers\.\d+\./, '');
      const rowsOf = (t: number, r: number) => (useOutCount ? r : t);
      const tiledStep = (t: number, r: number) => tiledToo && rowsOf(t, r) >= TILED_MIN_TOKENS;
      const matvec = kernelPipeline(d, launch.kernel, launch.constants);
      list.push({
        name,
        pipeline: matvec,
        bind: bind(matvec, byBinding(input, norm ? w(norm.weight) : counts)),
        size: (t, r) => (tiledStep(t, r) ? NONE : linearGrid(lw.rows, rowsOf(t, r), launch.rowsPerWorkgroup)),
      });
      if (!tiledToo) return;
      const splits = tiledSplits(lw.rows, lw.cols);
      const tl = tiledLaunch(format, shape, splits, maxT);
      const tiled = kernelPipeline(d, tl.kernel, tl.constants);
      const tiledBuffers = format.bindings.map((k) => byBinding(norm ? norm.normed : input, undefined)[k]);
      list.push({
        name: `${name}.tiled`,
        pipeline: tiled,
        bind: bindGroup(d, tiled, Object.assign([...tiledBuffers], { 6: part })),
        size: (t, r) =>
          tiledStep(t, r)
            ? linearGrid(lw.rows, rowsOf(t, r), tl.rowsPerWorkgroup, tl.tokensPerWorkgroup, splits)
            : NONE,
      });
      if (splits === 1) return;
      const combine = kernelPipeline(d, tl.kernel, tl.constants, 'combine');
      list.push({
        name: `${name}.combine`,
        pipeline: combine,
        bind: bindGroup(d, combine, [undefined, undefined, out, counts, undefined, undefined, part]),
        size: (t, r) => (tiledStep(t, r) ? foldedGrid(ceil(rowsOf(t, r) * lw.rows, TILED_WG)) : NONE),
      });
    };
    // CPUs reduce a row with 8 invocations (llvmpipe's SIMD width): lavapipe runs every invocation at each barrier,
    // and a row of preset:tiny took 58 us with 128 of them, 10 us with 8 (one token; 32 tokens: 182 vs 27 us).
    const normShape = { D: c.dim, EPS: c.normEps, ...(this.software ? { WG: CPU_NORM_WG } : {}) };
    const norm = (input: GPUBuffer, weight: string, out: GPUBuffer, onlyTiledSteps = false) =>
      add('rmsnorm', normShape, [input, w(weight), out, counts, outRows], (t) =>
        onlyTiledSteps && t < TILED_MIN_TOKENS ? NONE : [t, 1, 1],
      );
    // Fusion on a GPU with a packed format also folds each layer's input RMSNorm into the linear kernel that reads
    // it (weight-formats.ts, LinearShape.norm): two dispatches fewer per layer, each ~10-20 us on the H100.
    const foldNorm = fused && !this.software && format.multiRow !== false;
    const kvCache = o.kvCache ?? 'f32';
    checkKvFormat(kvCache, c.headDim);
    const kvShape = {
      HEAD_DIM: c.headDim,
      N_HEADS: c.nHeads,
      N_KV_HEADS: c.nKvHeads,
      BLOCK: o.kvBlockSize,
      KV_FORMAT: kvFormatCode(kvCache),
    };

    add('embedding', { D: c.dim }, [tokens, w(tensorNames.embedding), x, counts], (t) => [ceil(c.dim, WG), t, 1]);
    for (let l = 0; l < c.nLayers; l++) {
      // One block past the pool: the padding slot's scratch (padSlot).
      const cacheBytes = ((o.numBlocks + 1) * o.kvBlockSize * kvBytesPerPosition(kvCache, c.nKvHeads, c.headDim)) / 2;
      const kCache = storageBuffer(d, `k_cache.${l}`, cacheBytes); // [blocks, blockSize, nKvHeads, kvHeadWords]
      const vCache = storageBuffer(d, `v_cache.${l}`, cacheBytes); // [blocks, blockSize, nKvHeads, kvHeadWords]
      this.kvBytes += 2 * cacheBytes;
      const { wqkv, w13 } = fusedLinears(l);
      if (foldNorm) {
        norm(x, tensorNames.attnNorm(l), xb, true);
        linear(x, wqkv.name, qkv!, { norm: { weight: tensorNames.attnNorm(l), normed: xb } });
      } else {
        norm(x, tensorNames.attnNorm(l), xb);
        if (qkv) linear(xb, wqkv.name, qkv);
        else {
          linear(xb, tensorNames.wq(l), q);
          linear(xb, tensorNames.wk(l), k);
          linear(xb, tensorNames.wv(l), v);
        }
      }
      const invocations = ropeKvInvocations(c.nHeads, c.headDim, c.nKvHeads, kvCache);
      const rope = { THETA: c.ropeTheta, HALF: c.ropeLayout === 'half' ? 1 : 0, MAX_BLOCKS: this.maxBlocksPerSeq };
      add(
        'rope_kv',
        { ...kvShape, ...rope, QKV: fused ? 1 : 0 },
        [q, k, v, kCache, vCache, positions, slots, blockTable, counts],
        (t) => [ceil(invocations, WG), t, 1],
      );
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
        add(pass.kernel, pass.constants, buffers, (t, _r, len) => pass.grid(t, len), pass.entryPoint);
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
      this.layerEnds.push(this.body.length);
    }
    list = this.head;
    const finalNorm = w(tensorNames.finalNorm);
    add('rmsnorm', { ...normShape, GATHER: 1 }, [x, finalNorm, xo, counts, outRows], (_t, r) => [r, 1, 1]);
    // The classifier only for the rows whose logits are wanted (USE_OUT_COUNT: R rows, not T).
    linear(xo, CLASSIFIER, this.logits, { useOutCount: true });
    // Argmax in two passes: segments of SEG logits in parallel, then the segments' winners (kernels/argmax.wgsl).
    const argmaxWG = this.software ? CPU_NORM_WG : 256;
    const seg = this.software ? c.vocabSize : argmaxWG * 16;
    const segments = ceil(c.vocabSize, seg);
    const pairs = f32('argmax-pairs', o.maxOut * segments * 2);
    const argmax = { WG: argmaxWG, V: c.vocabSize, P: segments, SEG: seg };
    add('argmax', argmax, [this.logits, undefined, counts, pairs], (_t, r) => [segments, r, 1], 'partial');
    add('argmax', argmax, [undefined, this.ids, counts, pairs], (_t, r) => [r, 1, 1]);
    // Of a one-token decode step at the longest context (steps of other sizes may pick other kernels).
    const len = c.maxSeqLen;
    this.dispatchesPerStep = this.dispatches(c.nLayers).filter((dsp) => dsp.size(1, 1, len).every((n) => n > 0)).length;
  }

  /** Weight bytes one decode step reads (every matrix once in its format, norms, one embedding row). */
  get weightReadBytes(): number {
    return this.weights.readBytesPerToken;
  }

  /** Points a sequence slot at its KV blocks (called when a sequence gains or loses blocks). */
  setBlockTable(slot: number, blocks: readonly number[]): void {
    if (blocks.length > this.maxBlocksPerSeq) throw new Error(`block table overflow: ${blocks.length}`);
    this.device.queue.writeBuffer(this.io.blockTable, slot * this.maxBlocksPerSeq * 4, new Uint32Array(blocks));
  }

  /**
   * Runs one step and returns the logits of `outRows`, [R, vocab] row-major. With `exitLayer` L the pass stops
   * after L layers and applies the final norm and classifier there (the layer-skip drafter); it still writes the
   * KV of those L layers, which the full pass that verifies the draft overwrites.
   */
  async step(input: StepInput, exitLayer = this.config.nLayers): Promise<Float32Array> {
    const r = input.outRows.length;
    const out = await this.run(input, { exitLayer });
    const V = this.config.vocabSize;
    const all = new Float32Array(r * V);
    for (let i = 0; i < r; i++) all.set(out.logits(i), i * V);
    return all;
  }

  /**
   * Runs one step: every out row's argmax, and the logits of `logitRows` only (sampled rows; greedy ones need
   * none). The step is one command buffer; on GPUs, while it runs, the command buffer of the same rows one position
   * on (the next decode step) is encoded, so a decode loop's CPU encoding overlaps the GPU's work.
   */
  async run(input: StepInput, options: RunOptions = {}): Promise<StepOutput> {
    const { t, r, len } = this.writeInputs(input);
    const exit = Math.min(options.exitLayer ?? this.config.nLayers, this.config.nLayers);
    const rows = options.logitRows ?? Array.from({ length: r }, (_, i) => i);
    const key = (l: number) => `${t}:${r}:${l}:${exit}:${rows.join(',')}`;
    const commands = this.prepared?.key === key(len) ? this.prepared.commands : this.encodeStep(t, r, len, exit, rows);
    this.prepared = undefined;
    const q = this.device.queue;
    q.submit([commands]);
    // On a CPU adapter the "GPU" work runs on the same cores, so encoding ahead gains nothing there, and steps whose
    // shape changes (speculative verification, prefill) would pay for an encode they never use.
    if (!this.software && len < this.config.maxSeqLen) {
      this.prepared = { key: key(len + 1), commands: this.encodeStep(t, r, len + 1, exit, rows) };
    }
    if (r === 0) {
      await q.onSubmittedWorkDone();
      return { argmax: noRows, logits: noRows };
    }
    const V = this.config.vocabSize;
    const logitBytes = rows.length * V * 4;
    await Promise.all([
      this.idsStaging.mapAsync(0x0001, 0, r * 4),
      logitBytes > 0 ? this.staging.mapAsync(0x0001, 0, logitBytes) : undefined,
    ]);
    const ids = new Uint32Array(this.idsStaging.getMappedRange(0, r * 4).slice(0));
    this.idsStaging.unmap();
    let logits = new Float32Array(0);
    if (logitBytes > 0) {
      logits = new Float32Array(this.staging.getMappedRange(0, logitBytes).slice(0));
      this.staging.unmap();
    }
    const at = new Map(rows.map((row, k) => [row, k]));
    return {
      argmax: (i) => ids[i]!,
      logits: (i) => {
        const k = at.get(i);
        if (k === undefined) throw new Error(`logits of out row ${i} were not read back (RunOptions.logitRows)`);
        return logits.subarray(k * V, (k + 1) * V);
      },
    };
  }

  /** The command buffer of a step: one compute pass, then the copies of token ids and the wanted logit rows. */
  private encodeStep(t: number, r: number, len: number, exitLayer: number, rows: readonly number[]): GPUCommandBuffer {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const dsp of this.dispatches(exitLayer)) this.encode(pass, dsp, t, r, len);
    pass.end();
    if (r > 0) enc.copyBufferToBuffer(this.ids, 0, this.idsStaging, 0, r * 4);
    const rowBytes = this.config.vocabSize * 4;
    // Consecutive rows in one copy.
    for (let k = 0; k < rows.length; ) {
      let n = 1;
      while (k + n < rows.length && rows[k + n] === rows[k]! + n) n++;
      enc.copyBufferToBuffer(this.logits, rows[k]! * rowBytes, this.staging, k * rowBytes, n * rowBytes);
      k += n;
    }
    return enc.finish();
  }

  /**
   * Writes a step's inputs and returns its dispatches, in order, each ready to encode into a pass of the caller's
   * (engine/runtime/step-profile.ts times them one by one or as the usual single pass).
   */
  prepareDispatches(input: StepInput): PreparedDispatch[] {
    const { t, r, len } = this.writeInputs(input);
    return this.dispatches(this.config.nLayers)
      .filter((dsp) => dsp.size(t, r, len).every((n) => n > 0))
      .map((dsp) => ({ name: dsp.name, encode: (pass) => this.encode(pass, dsp, t, r, len) }));
  }

  private writeInputs(input: StepInput): { t: number; r: number; len: number } {
    const t = input.tokens.length;
    const r = input.outRows.length;
    if (t === 0 || t > this.options.maxTokens || r > this.options.maxOut) {
      throw new Error(`step size out of range: ${t} tokens, ${r} output rows`);
    }
    const q = this.device.queue;
    q.writeBuffer(this.io.tokens, 0, Uint32Array.from(input.tokens));
    q.writeBuffer(this.io.positions, 0, Uint32Array.from(input.positions));
    q.writeBuffer(this.io.slots, 0, Uint32Array.from(input.slots));
    if (r > 0) q.writeBuffer(this.io.outRows, 0, Uint32Array.from(input.outRows));
    q.writeBuffer(this.io.counts, 0, new Uint32Array([t, r, 0, 0]));
    let len = 0;
    for (let i = 0; i < t; i++) len = Math.max(len, input.positions[i]! + 1);
    return { t, r, len };
  }

  private dispatches(exitLayer: number): Dispatch[] {
    const body = exitLayer >= this.config.nLayers ? this.body : this.body.slice(0, this.layerEnds[exitLayer - 1]);
    return [...body, ...this.head];
  }

  private encode(pass: GPUComputePassEncoder, dsp: Dispatch, t: number, r: number, len: number): void {
    const [gx, gy, gz] = dsp.size(t, r, len);
    if (gx === 0 || gy === 0 || gz === 0) return;
    pass.setPipeline(dsp.pipeline);
    pass.setBindGroup(0, dsp.bind);
    pass.dispatchWorkgroups(gx, gy, gz);
  }

  destroy(): void {
    this.weights.destroy();
    for (const b of Object.values(this.io)) b.destroy();
    for (const b of [this.logits, this.staging, this.ids, this.idsStaging]) b.destroy();
  }
}
