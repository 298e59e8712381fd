// The GPU side of the engine: holds the weights and the paged KV cache, and runs one step (any mix of prefill
// and decode tokens from any sequences) as one command buffer with one compute pass. Only the logits of the rows
// that sampling needs are read back.
import type { GpuContext } from '../device/device.ts';
import type { ModelConfig } from '../model/config.ts';
import type { LoadedModel } from '../model/weights.ts';
import type { AttentionKind } from '../ops/attention.ts';
import type { Fusion } from '../ops/fusion.ts';
import type { KvCacheFormat } from '../ops/kv-cache.ts';
import type { SubgroupMatrixMode } from '../ops/subgroup-matrix.ts';
import { getWeightFormat, type IntDot, type WeightFormat } from '../ops/weight-formats.ts';
import { AHEAD_STEPS } from './decode-ahead.ts';
import { buildForwardPass, type Dispatch } from './forward-pass.ts';
import { storageBuffer } from './gpu-buffers.ts';
import { GpuWeights } from './gpu-weights.ts';
import { ReadbackPacer } from './readback-pacer.ts';

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
  intDot?: IntDot; // default on: int8/int4 layers multiply int8-quantized x with integer dot products
  subgroupMatrix?: SubgroupMatrixMode; // default auto: steps of many tokens on matrix units (engine/ops/subgroup-matrix.ts)
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
  // Token i of this step is the argmax of out row i of the previous step, taken on the GPU (input.tokens are
  // ignored): a greedy decode step submitted before the previous one's tokens are read back, so the GPU goes from
  // one step to the next without waiting for the CPU. At most AHEAD_STEPS + 1 steps are in flight (each stages its ids
  // in its own buffer of a ring).
  feedTokens?: boolean;
}

/** A dispatch of a prepared step: its profile name and how to encode it. */
export interface PreparedDispatch {
  name: string;
  encode(pass: GPUComputePassEncoder): void;
}

const noRows = (i: number): never => {
  throw new Error(`step had no out rows (asked for row ${i})`);
};
const ceil = (a: number, b: number) => Math.ceil(a / b);
const MAX_PLANS = 64; // step shapes whose dispatch lists are kept (stepPlan)

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
  private readonly idsStaging: GPUBuffer[]; // a ring: each step in flight stages its token ids in its own
  private idsSlot = 0; // which idsStaging the next step copies its ids to
  // The command buffer of the step most likely to come next, encoded while the GPU ran the previous one.
  private prepared: { key: string; commands: GPUCommandBuffer } | undefined;
  private readonly pacer: ReadbackPacer; // when to ask for each step's results (readback-pacer.ts)
  // The forward pass (forward-pass.ts): body, head, and the body's length after each layer (early exits).
  private readonly body: Dispatch[] = [];
  private readonly head: Dispatch[] = [];
  private readonly layerEnds: number[] = [];
  private readonly plans = new Map<string, { dsp: Dispatch; grid?: [number, number, number] }[]>(); // stepPlan
  private weights!: GpuWeights;

  private readonly software: boolean;
  readonly hasTimestamps: boolean; // timestamp queries (per-kernel profiles)

  private constructor(ctx: GpuContext, config: ModelConfig, options: RunnerOptions) {
    this.device = ctx.device;
    this.software = ctx.isSoftware;
    this.pacer = new ReadbackPacer(!this.software);
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
      counts: u32('counts', 4), // {n_tokens, n_out, fed}
      blockTable: u32('blockTable', (options.maxSeqs + 1) * this.maxBlocksPerSeq), // [slots + padSlot, maxBlocks]
    };
    this.logits = storageBuffer(d, 'logits', options.maxOut * config.vocabSize * 4); // [R, vocab]
    this.staging = d.createBuffer({ label: 'logits-staging', size: this.logits.size, usage: 0x01 | 0x08 });
    this.ids = u32('ids', options.maxOut);
    const idsStaging = (i: number) =>
      d.createBuffer({ label: `ids-staging-${i}`, size: this.ids.size, usage: 0x01 | 0x08 });
    this.idsStaging = Array.from({ length: AHEAD_STEPS + 1 }, (_, i) => idsStaging(i));
    this.padSlot = options.maxSeqs;
    this.setBlockTable(this.padSlot, new Array(this.maxBlocksPerSeq).fill(options.numBlocks));
  }

  static async create(ctx: GpuContext, model: LoadedModel, options: RunnerOptions): Promise<ModelRunner> {
    const r = new ModelRunner(ctx, model.config, options);
    const format = options.weightFormat ?? getWeightFormat('f32');
    r.weights = await GpuWeights.upload(ctx.device, model, format, (options.fusion ?? 'on') === 'on');
    r.weightBytes = r.weights.bytes;
    const pass = buildForwardPass(
      ctx,
      r.config,
      options,
      r.weights,
      { ...r.io, logits: r.logits, ids: r.ids },
      r.maxBlocksPerSeq,
    );
    r.body.push(...pass.body);
    r.head.push(...pass.head);
    r.layerEnds.push(...pass.layerEnds);
    r.scratchBytes = pass.scratchBytes;
    r.kvBytes = pass.kvBytes;
    // Of a one-token decode step at the longest context (steps of other sizes may pick other kernels).
    const len = r.config.maxSeqLen;
    r.dispatchesPerStep = r
      .dispatches(r.config.nLayers)
      .filter((dsp) => dsp.size(1, 1, len).every((n) => n > 0)).length;
    return r;
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
    if (options.feedTokens && input.tokens.length !== input.outRows.length) {
      throw new Error('a fed step has one token per out row of the step before it');
    }
    const { t, r, len } = this.writeInputs(input, options.feedTokens ?? false);
    const exit = Math.min(options.exitLayer ?? this.config.nLayers, this.config.nLayers);
    const rows = options.logitRows ?? Array.from({ length: r }, (_, i) => i);
    const key = (l: number) => `${t}:${r}:${l}:${exit}:${rows.join(',')}`;
    const idsStaging = this.idsStaging[this.idsSlot]!;
    const commands =
      this.prepared?.key === key(len) ? this.prepared.commands : this.encodeStep(t, r, len, exit, rows, this.idsSlot);
    this.prepared = undefined;
    this.idsSlot = (this.idsSlot + 1) % this.idsStaging.length;
    const q = this.device.queue;
    const submitted = performance.now();
    q.submit([commands]);
    // On a CPU adapter the "GPU" work runs on the same cores, so encoding ahead gains nothing there, and steps whose
    // shape changes (speculative verification, prefill) would pay for an encode they never use.
    if (!this.software && len < this.config.maxSeqLen) {
      this.prepared = { key: key(len + 1), commands: this.encodeStep(t, r, len + 1, exit, rows, this.idsSlot) };
    }
    const shape = `${t}:${r}:${exit}:${rows.length}`;
    if (r === 0) {
      await this.pacer.paced(shape, submitted, () => q.onSubmittedWorkDone());
      return { argmax: noRows, logits: noRows };
    }
    const V = this.config.vocabSize;
    const logitBytes = rows.length * V * 4;
    await this.pacer.paced(shape, submitted, () =>
      Promise.all([
        idsStaging.mapAsync(0x0001, 0, r * 4),
        logitBytes > 0 ? this.staging.mapAsync(0x0001, 0, logitBytes) : undefined,
      ]),
    );
    const ids = new Uint32Array(idsStaging.getMappedRange(0, r * 4).slice(0));
    idsStaging.unmap();
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
  private encodeStep(
    t: number,
    r: number,
    len: number,
    exitLayer: number,
    rows: readonly number[],
    idsSlot: number,
  ): GPUCommandBuffer {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const { dsp, grid } of this.stepPlan(t, r, exitLayer)) this.encode(pass, dsp, grid ?? dsp.size(t, r, len));
    pass.end();
    if (r > 0) enc.copyBufferToBuffer(this.ids, 0, this.idsStaging[idsSlot]!, 0, r * 4);
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
      .map((dsp) => ({ name: dsp.name, encode: (pass) => this.encode(pass, dsp, dsp.size(t, r, len)) }));
  }

  private writeInputs(input: StepInput, fed = false): { t: number; r: number; len: number } {
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
    q.writeBuffer(this.io.counts, 0, new Uint32Array([t, r, fed ? 1 : 0, 0]));
    let len = 0;
    for (let i = 0; i < t; i++) len = Math.max(len, input.positions[i]! + 1);
    return { t, r, len };
  }

  /**
   * The dispatches a step of this shape runs, with the grids that do not depend on its context computed: of a
   * step's candidate dispatches (on GPUs each linear has matrix-vector, tiled and split-combine kernels) most do not
   * run, and computing all their grids every step was 8% of encoding a step on lavapipe (preset:tiny, 175 -> 161
   * us), more with a GPU's candidates: an int4 llama-7b step is ~2.8 ms of GPU work the CPU must encode ahead of.
   */
  private stepPlan(t: number, r: number, exitLayer: number): { dsp: Dispatch; grid?: [number, number, number] }[] {
    const key = `${t}:${r}:${exitLayer}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = [];
      for (const dsp of this.dispatches(exitLayer)) {
        if (dsp.byContext) plan.push({ dsp });
        else {
          const grid = dsp.size(t, r, 0);
          if (grid.every((n) => n > 0)) plan.push({ dsp, grid });
        }
      }
      if (this.plans.size >= MAX_PLANS) this.plans.clear(); // prefill chunks of many sizes: keep the map small
      this.plans.set(key, plan);
    }
    return plan;
  }

  private dispatches(exitLayer: number): Dispatch[] {
    const body = exitLayer >= this.config.nLayers ? this.body : this.body.slice(0, this.layerEnds[exitLayer - 1]);
    return [...body, ...this.head];
  }

  private encode(pass: GPUComputePassEncoder, dsp: Dispatch, [gx, gy, gz]: [number, number, number]): void {
    if (gx === 0 || gy === 0 || gz === 0) return;
    pass.setPipeline(dsp.pipeline);
    pass.setBindGroup(0, dsp.bind);
    pass.dispatchWorkgroups(gx, gy, gz);
  }

  destroy(): void {
    this.weights.destroy();
    for (const b of Object.values(this.io)) b.destroy();
    for (const b of [this.logits, this.staging, this.ids, ...this.idsStaging]) b.destroy();
  }
}
