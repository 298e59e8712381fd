// The engine: a step loop over the scheduler and the model runner.
//   schedule -> runner.run -> postprocess (sample, append, finish)
// generate() enqueues a sequence and streams its events; many generate() calls share the loop, which is how
// batching happens.
import type { GpuContext } from '../device/device.ts';
import type { LoadedModel } from '../model/weights.ts';
import { kvBytesPerPosition } from '../ops/kv-cache.ts';
import { Sampler } from '../sampling/sampler.ts';
import { StopMatcher } from '../sampling/stop.ts';
import { createProposer } from '../spec/index.ts';
import { Speculator } from '../spec/speculator.ts';
import { verify } from '../spec/verify.ts';
import { TokenStreamDecoder } from '../tokenizer/stream.ts';
import { BlockManager } from './block-manager.ts';
import { AHEAD_STEPS, decodeAhead } from './decode-ahead.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions, kernelToggles } from './engine-options.ts';
import { ModelRunner, type StepOutput } from './model-runner.ts';
import { type Chunk, Scheduler } from './scheduler.ts';
import { Sequence } from './sequence.ts';
import type { Engine, EngineMetrics, GenerationEvent, GenerationRequest, GenerationResult } from './types.ts';

/** A submitted step: its chunks, when it was submitted, and its result to come. */
interface InFlight {
  chunks: Chunk[];
  t0: number;
  out: Promise<StepOutput>;
}

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
  readonly spec: Speculator | undefined;
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

  private constructor(
    model: LoadedModel,
    runner: ModelRunner,
    blocks: BlockManager,
    scheduler: Scheduler,
    spec: Speculator | undefined,
    private readonly decodeAhead: boolean,
  ) {
    this.config = model.config;
    this.info = model.info;
    this.tokenizer = model.tokenizer;
    this.runner = runner;
    this.blocks = blocks;
    this.scheduler = scheduler;
    this.spec = spec;
  }

  static async create(ctx: GpuContext, model: LoadedModel, opts: Partial<EngineOptions> = {}): Promise<WebGpuEngine> {
    const o = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
    const c = model.config;
    const maxBatch = o.batch === 'none' ? 1 : o.maxBatch;
    const perSeq = Math.ceil(c.maxSeqLen / o.kvBlockSize);
    const blockBytes = c.nLayers * o.kvBlockSize * kvBytesPerPosition(o.kvCache, c.nKvHeads, c.headDim);
    // Enough blocks for every slot at full context when that fits the budget; never less than one full sequence.
    const numBlocks =
      o.kvBlocks > 0
        ? o.kvBlocks
        : Math.max(perSeq, Math.min(maxBatch * perSeq, Math.floor(o.kvBudgetBytes / blockBytes)));
    const depth = o.spec === 'none' ? 0 : o.specDepth;
    // Every running sequence may verify depth + 1 positions in one step.
    const maxNumTokens = Math.max(o.maxNumTokens, maxBatch * (depth + 1));
    const runner = await ModelRunner.create(ctx, model, {
      maxTokens: maxNumTokens,
      maxOut: maxBatch * (depth + 1),
      maxSeqs: maxBatch,
      kvBlockSize: o.kvBlockSize,
      numBlocks,
      ...kernelToggles(o),
    });
    const blocks = new BlockManager(numBlocks, o.kvBlockSize);
    const scheduler = new Scheduler(o.batch, blocks, {
      maxBatch,
      maxNumTokens,
      prefillChunk: o.prefillChunk,
      lookahead: depth,
      maxContext: c.maxSeqLen,
    });
    const proposer = await createProposer(ctx, model, runner, { ...o, maxBatch, maxNumTokens });
    const spec = proposer ? new Speculator(proposer, depth, c.maxSeqLen) : undefined;
    return new WebGpuEngine(model, runner, blocks, scheduler, spec, o.decodeAhead === 'on');
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
        ...(this.spec ? { spec: { ...seq.spec } } : {}),
      },
    };
  }

  private cancel(seq: Sequence): void {
    if (seq.status === 'finished') return;
    this.finishSeq(seq);
    seq.finishReason = 'cancelled';
    seq.t.finished = performance.now();
    seq.notify();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.loop().catch((err: unknown) => {
      // A device loss or kernel failure ends every sequence; their consumers see the error as a cancel.
      process.stderr.write(`engine step failed: ${err instanceof Error ? err.message : String(err)}\n`);
      for (const seq of [...this.scheduler.running, ...this.scheduler.waiting]) this.cancel(seq);
    });
  }

  private async loop(): Promise<void> {
    // Greedy decode steps submitted behind the running one (decode-ahead.ts), in order: next in line once it is done.
    const ahead: InFlight[] = [];
    let lastDone = 0; // when the previous step's result arrived: a step submitted ahead is timed from then on
    try {
      while ((this.scheduler.hasWork || ahead.length > 0) && !this.closed) {
        let step = ahead.shift();
        if (!step) {
          const chunks = this.scheduler.schedule();
          if (chunks.length === 0) {
            // Nothing runnable this instant (e.g. every sequence waits for blocks a cancel is about to free).
            await new Promise((r) => setImmediate(r));
            continue;
          }
          const t0 = performance.now();
          if (this.spec) await this.spec.attach(chunks);
          const { input, logitRows } = this.buildStep(chunks);
          step = { chunks, t0, out: this.runner.run(input, { logitRows }) };
        }
        while (this.decodeAhead && !this.spec && ahead.length < AHEAD_STEPS) {
          const last = ahead.at(-1) ?? step;
          const next = decodeAhead(last.chunks, this.scheduler, this.blocks, this.runner, this.config);
          if (!next) break;
          const t0 = performance.now();
          ahead.push({
            chunks: next.chunks,
            t0,
            out: this.runner.run(next.input, { logitRows: [], feedTokens: true }),
          });
        }
        const out = await step.out;
        const done = performance.now();
        this.counters.stepsTotal++;
        this.counters.stepMsTotal += done - Math.max(step.t0, lastDone);
        lastDone = done;
        this.counters.lastBatch = step.chunks.length;
        this.postprocess(step.chunks, out);
        // Let the server accept new requests between steps so they can join the running batch.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      // A step still in flight (the engine closed) must finish before the runner's buffers go.
      for (const a of ahead) await a.out.catch(() => undefined);
      // Cleared in the same tick as the last hasWork check, so a generate() arriving now starts a new loop.
      this.looping = false;
    }
  }

  private buildStep(chunks: Chunk[]) {
    const tokens: number[] = [];
    const positions: number[] = [];
    const slots: number[] = [];
    const outRows: number[] = [];
    const logitRows: number[] = []; // indices into outRows: sampled rows need logits, greedy ones only the argmax
    for (const c of chunks) {
      const seq = c.seq;
      seq.syncBlockTable(this.runner);
      for (let i = 0; i < c.count; i++) {
        tokens.push(i === 0 || !c.draft ? seq.tokens[c.start + i]! : c.draft.tokens[i - 1]!);
        positions.push(c.start + i);
        slots.push(seq.slot);
        // A speculative decode needs the target's distribution after the last token and after every draft.
        if (c.draft || (c.sample && i === c.count - 1)) {
          if (seq.sampling.temperature > 0) logitRows.push(outRows.length);
          outRows.push(tokens.length - 1);
        }
      }
    }
    for (const position of this.scheduler.padding) {
      tokens.push(0);
      positions.push(position);
      slots.push(this.runner.padSlot);
    }
    return { input: { tokens, positions, slots, outRows }, logitRows };
  }

  private postprocess(chunks: Chunk[], out: StepOutput): void {
    let row = 0;
    const now = performance.now();
    for (const c of chunks) {
      const seq = c.seq;
      if (!c.sample) {
        seq.computed += c.count;
        continue;
      }
      const st = this.state.get(seq);
      const r = row;
      row += c.draft ? c.count : 1;
      if (seq.status !== 'running' || !st) continue; // cancelled while the step ran
      if (seq.t.firstToken === 0) seq.t.firstToken = now;
      if (!c.draft) {
        seq.computed += c.count;
        const greedy = seq.sampling.temperature === 0;
        this.emitTokens(seq, st, [greedy ? out.argmax(r) : st.sampler.sample(out.logits(r))]);
        continue;
      }
      const rows = { argmax: (i: number) => out.argmax(r + i), logits: (i: number) => out.logits(r + i) };
      const v = verify(c.draft, rows, seq.sampling, () => st.sampler.rng.random());
      // KV is valid for the last token and the accepted drafts; the target's new token is not in the cache yet.
      seq.computed = c.start + 1 + v.accepted;
      this.spec!.record(seq, c.draft.tokens.length, v.accepted);
      this.emitTokens(seq, st, v.tokens);
      this.spec!.proposer.rollback(seq);
      if (seq.status === 'running') {
        this.blocks.shrink(seq.blocks, seq.tokens.length);
        seq.uploadedBlocks = Math.min(seq.uploadedBlocks, seq.blocks.length);
      }
    }
  }

  /** Appends tokens one by one, stopping at the first that finishes the sequence (EOS, stop string, length). */
  private emitTokens(seq: Sequence, st: SeqState, tokens: number[]): void {
    for (const token of tokens) {
      if (seq.status !== 'running') return;
      seq.tokens.push(token);
      this.counters.generatedTokensTotal++;
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
    this.finishSeq(seq);
    seq.emit({ tokenIds: [token], text });
  }

  private finishSeq(seq: Sequence): void {
    this.scheduler.finish(seq);
    this.spec?.proposer.release(seq);
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
      ...(this.spec ? { spec: this.spec.metrics() } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const seq of [...this.scheduler.running, ...this.scheduler.waiting]) this.cancel(seq);
    while (this.looping) await new Promise((r) => setTimeout(r, 1));
    this.runner.destroy();
  }
}
