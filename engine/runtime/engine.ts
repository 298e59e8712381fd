// The engine: a step loop over the scheduler and the model runner.
//   schedule -> runner.step -> postprocess (sample, append, finish)
// generate() enqueues a sequence and streams its events; many generate() calls share the loop, which is how
// batching happens.
import type { GpuContext } from '../device/device.ts';
import type { LoadedModel } from '../model/weights.ts';
import { Sampler } from '../sampling/sampler.ts';
import { StopMatcher } from '../sampling/stop.ts';
import { TokenStreamDecoder } from '../tokenizer/stream.ts';
import { BlockManager } from './block-manager.ts';
import { ModelRunner } from './model-runner.ts';
import { type BatchMode, type Chunk, Scheduler } from './scheduler.ts';
import { Sequence } from './sequence.ts';
import type { Engine, EngineMetrics, GenerationEvent, GenerationRequest, GenerationResult } from './types.ts';

export interface EngineOptions {
  batch: BatchMode;
  maxBatch: number;
  maxNumTokens: number;
  prefillChunk: number;
  kvBlockSize: number;
  kvBlocks: number; // 0 = derived from maxBatch and the context, within kvBudgetBytes
  kvBudgetBytes: number;
  workgroupSize: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  batch: 'continuous',
  maxBatch: 32,
  maxNumTokens: 512,
  prefillChunk: 0,
  kvBlockSize: 16,
  kvBlocks: 0,
  kvBudgetBytes: 2 ** 31,
  workgroupSize: 128,
};

interface SeqState {
  sampler: Sampler;
  decoder: TokenStreamDecoder;
  stop: StopMatcher;
  stopIds: Set<number>;
}

export class WebGpuEngine implements Engine {
  readonly config;
  readonly info;
  readonly tokenizer;
  readonly runner: ModelRunner;
  readonly scheduler: Scheduler;
  readonly blocks: BlockManager;
  private nextId = 0;
  private looping = false;
  private closed = false;
  private readonly state = new Map<Sequence, SeqState>();
  private readonly counters = {
    requestsTotal: 0,
    promptTokensTotal: 0,
    generatedTokensTotal: 0,
    stepsTotal: 0,
    stepMsTotal: 0,
    lastBatch: 0,
  };

  private constructor(model: LoadedModel, runner: ModelRunner, blocks: BlockManager, scheduler: Scheduler) {
    this.config = model.config;
    this.info = model.info;
    this.tokenizer = model.tokenizer;
    this.runner = runner;
    this.blocks = blocks;
    this.scheduler = scheduler;
  }

  static async create(ctx: GpuContext, model: LoadedModel, opts: Partial<EngineOptions> = {}): Promise<WebGpuEngine> {
    const o = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
    const c = model.config;
    const maxBatch = o.batch === 'none' ? 1 : o.maxBatch;
    const perSeq = Math.ceil(c.maxSeqLen / o.kvBlockSize);
    const blockBytes = 2 * c.nLayers * o.kvBlockSize * c.nKvHeads * c.headDim * 4;
    // Enough blocks for every slot at full context when that fits the budget; never less than one full sequence.
    const numBlocks =
      o.kvBlocks > 0
        ? o.kvBlocks
        : Math.max(perSeq, Math.min(maxBatch * perSeq, Math.floor(o.kvBudgetBytes / blockBytes)));
    const maxNumTokens = Math.max(o.maxNumTokens, maxBatch);
    const runner = await ModelRunner.create(ctx, model, {
      maxTokens: maxNumTokens,
      maxOut: maxBatch,
      maxSeqs: maxBatch,
      kvBlockSize: o.kvBlockSize,
      numBlocks,
      workgroupSize: o.workgroupSize,
    });
    const blocks = new BlockManager(numBlocks, o.kvBlockSize);
    const scheduler = new Scheduler(o.batch, blocks, { maxBatch, maxNumTokens, prefillChunk: o.prefillChunk });
    return new WebGpuEngine(model, runner, blocks, scheduler);
  }

  async *generate(req: GenerationRequest, signal?: AbortSignal): AsyncGenerator<GenerationEvent, GenerationResult> {
    if (this.closed) throw new Error('engine is closed');
    const seq = new Sequence(this.nextId++, req);
    const tk = this.tokenizer;
    const stopIds = new Set<number>();
    if (!req.ignoreEos && tk.eos >= 0) stopIds.add(tk.eos);
    // llama2.c models end a story by starting the next one: run.c stops on BOS, so do we.
    if (!req.ignoreEos && this.info.format === 'llama2c' && tk.bos >= 0) stopIds.add(tk.bos);
    this.state.set(seq, {
      sampler: new Sampler(req.sampling),
      decoder: new TokenStreamDecoder(tk, {
        prev: req.promptIds[req.promptIds.length - 1] ?? -1,
        stripSpaceAfterBos: tk.stripSpaceAfterBos ?? true,
      }),
      stop: new StopMatcher(req.stop ?? []),
      stopIds,
    });
    this.counters.requestsTotal++;
    this.counters.promptTokensTotal += seq.promptLen;
    const onAbort = () => this.cancel(seq);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) this.cancel(seq);
    else {
      this.scheduler.add(seq);
      this.kick();
    }
    try {
      while (true) {
        while (seq.pending.length > 0) yield seq.pending.shift()!;
        if (seq.status === 'finished') break;
        await new Promise<void>((resolve) => {
          seq.wake = resolve;
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A consumer that stops iterating early (client gone) must not leave its sequence running.
      if (seq.status !== 'finished') this.cancel(seq);
      this.state.delete(seq);
    }
    return this.result(seq);
  }

  private result(seq: Sequence): GenerationResult {
    const t = seq.t;
    const decodeMs = t.firstToken > 0 ? t.finished - t.firstToken : 0;
    const n = seq.generated;
    return {
      text: seq.text,
      tokenIds: seq.tokens.slice(seq.promptLen),
      finishReason: seq.finishReason ?? 'cancelled',
      stats: {
        promptTokens: seq.promptLen,
        generatedTokens: n,
        queueMs: t.scheduled > 0 ? t.scheduled - t.arrival : 0,
        prefillMs: t.firstToken > 0 ? t.firstToken - t.scheduled : 0,
        decodeMs,
        decodeTokPerS: n > 1 && decodeMs > 0 ? ((n - 1) * 1000) / decodeMs : 0,
      },
    };
  }

  private cancel(seq: Sequence): void {
    if (seq.status === 'finished') return;
    this.scheduler.finish(seq);
    seq.finishReason = 'cancelled';
    seq.t.finished = performance.now();
    seq.notify();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.loop().then(
      () => {
        this.looping = false;
      },
      (err: unknown) => {
        this.looping = false;
        // A device loss or kernel failure ends every sequence; their consumers see the error as a cancel.
        process.stderr.write(`engine step failed: ${err instanceof Error ? err.message : String(err)}\n`);
        for (const seq of [...this.scheduler.running, ...this.scheduler.waiting]) this.cancel(seq);
      },
    );
  }

  private async loop(): Promise<void> {
    while (this.scheduler.hasWork && !this.closed) {
      const chunks = this.scheduler.schedule();
      if (chunks.length === 0) {
        // Nothing runnable (waiting for blocks held by nobody cannot happen: admission checks capacity).
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const t0 = performance.now();
      const logits = await this.runner.step(this.buildStep(chunks));
      this.counters.stepsTotal++;
      this.counters.stepMsTotal += performance.now() - t0;
      this.counters.lastBatch = chunks.length;
      this.postprocess(chunks, logits);
      // Let the server accept new requests between steps so they can join the running batch.
      await new Promise((r) => setImmediate(r));
    }
  }

  private buildStep(chunks: Chunk[]) {
    const tokens: number[] = [];
    const positions: number[] = [];
    const slots: number[] = [];
    const outRows: number[] = [];
    for (const c of chunks) {
      const seq = c.seq;
      if (seq.uploadedBlocks !== seq.blocks.length) {
        this.runner.setBlockTable(seq.slot, seq.blocks);
        seq.uploadedBlocks = seq.blocks.length;
      }
      for (let i = 0; i < c.count; i++) {
        tokens.push(seq.tokens[c.start + i]!);
        positions.push(c.start + i);
        slots.push(seq.slot);
      }
      if (c.sample) outRows.push(tokens.length - 1);
    }
    return { tokens, positions, slots, outRows };
  }

  private postprocess(chunks: Chunk[], logits: Float32Array): void {
    const V = this.config.vocabSize;
    let row = 0;
    const now = performance.now();
    for (const c of chunks) {
      const seq = c.seq;
      seq.computed += c.count;
      if (!c.sample) continue;
      const st = this.state.get(seq);
      const r = row++;
      if (seq.status !== 'running' || !st) continue; // cancelled while the step ran
      const token = st.sampler.sample(logits.subarray(r * V, (r + 1) * V));
      seq.tokens.push(token);
      this.counters.generatedTokensTotal++;
      if (seq.t.firstToken === 0) seq.t.firstToken = now;
      this.afterToken(seq, st, token);
    }
  }

  private afterToken(seq: Sequence, st: SeqState, token: number): void {
    const req = seq.req;
    const n = seq.generated;
    // The rest of the text once generation ends: incomplete UTF-8 bytes, then text held back for stop matching.
    const rest = () => {
      const u = st.stop.push(st.decoder.flush());
      return u.text + (u.stopped ? '' : st.stop.flush());
    };
    if (st.stopIds.has(token) && n > (req.minTokens ?? 0)) {
      this.complete(seq, 'stop', token, rest());
      return;
    }
    const step = st.stop.push(st.decoder.push(token));
    if (step.stopped) this.complete(seq, 'stop', token, step.text);
    else if (n >= req.maxTokens || seq.tokens.length >= this.config.maxSeqLen) {
      this.complete(seq, 'length', token, step.text + rest());
    } else {
      seq.text += step.text;
      seq.emit({ tokenIds: [token], text: step.text });
    }
  }

  private complete(seq: Sequence, reason: 'stop' | 'length', token: number, text: string): void {
    seq.text += text;
    seq.finishReason = reason;
    seq.t.finished = performance.now();
    this.scheduler.finish(seq);
    seq.emit({ tokenIds: [token], text });
  }

  metrics(): EngineMetrics {
    const c = this.counters;
    const s = this.scheduler;
    return {
      requestsTotal: c.requestsTotal,
      requestsRunning: s.running.length,
      requestsWaiting: s.waiting.length,
      promptTokensTotal: c.promptTokensTotal,
      generatedTokensTotal: c.generatedTokensTotal,
      stepsTotal: c.stepsTotal,
      stepMsTotal: c.stepMsTotal,
      batchOccupancy: c.lastBatch / s.limits.maxBatch,
      kvBlocksTotal: this.blocks.numBlocks,
      kvBlocksUsed: this.blocks.usedBlocks,
      preemptionsTotal: s.preemptions,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const seq of [...this.scheduler.running, ...this.scheduler.waiting]) this.cancel(seq);
    while (this.looping) await new Promise((r) => setTimeout(r, 1));
    this.runner.destroy();
  }
}
