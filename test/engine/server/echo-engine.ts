// A small deterministic Engine for the server's protocol tests: a byte-level tokenizer, output that echoes the
// prompt, a bounded running batch with a waiting queue, paged "KV blocks" that are allocated per sequence and
// freed on finish or abort, and real stop-string handling. The server tests swap it for the real engine through
// the EngineFactory type, so nothing here may be needed by the server itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { badInput } from '../../../engine/errors.ts';
import type { ModelConfig } from '../../../engine/model/config.ts';
import type { ModelInfo } from '../../../engine/model/weights.ts';
import type {
  Engine,
  EngineMetrics,
  GenerationEvent,
  GenerationRequest,
  GenerationResult,
} from '../../../engine/runtime/types.ts';
import type { Tokenizer } from '../../../engine/tokenizer/types.ts';

export type EngineFactory = () => Promise<Engine>;

const BYTE0 = 3; // ids 0..2: pad, BOS, EOS; 3..258: bytes 0..255

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize: number = 259;
  readonly bos = 1;
  readonly eos = 2;
  encode(text: string, options?: { bos?: boolean }): number[] {
    const ids = [...Buffer.from(text, 'utf8')].map((b) => b + BYTE0);
    return options?.bos === false ? ids : [this.bos, ...ids]; // like the engine's tokenizers: BOS unless told not to
  }
  tokenBytes(id: number): Uint8Array {
    if (id >= BYTE0) return Uint8Array.of(id - BYTE0);
    return new TextEncoder().encode(['<pad>', '<s>', '</s>'][id] ?? '');
  }
  decode(ids: readonly number[]): string {
    return Buffer.from(ids.filter((id) => id >= BYTE0).map((id) => id - BYTE0)).toString('utf8');
  }
}

export interface EchoEngineOptions {
  tokenDelayMs?: number; // per decode step
  prefillDelayMs?: number;
  maxBatch?: number; // sequences running at once; the rest wait (queue depth)
  kvBlockSize?: number;
  kvBlocks?: number;
  maxSeqLen?: number;
  tokensPerEvent?: number; // > 1 imitates speculative decoding: several tokens per event
}

/** Holds back the tail of `text` that could still become the start of a stop string. */
function heldTail(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

export class EchoEngine implements Engine {
  readonly config: ModelConfig;
  readonly info: ModelInfo = { name: 'echo-test', format: 'synthetic', synthetic: true };
  readonly tokenizer = new ByteTokenizer();
  private readonly o: Required<EchoEngineOptions>;
  private running = 0;
  private waiters: (() => void)[] = [];
  private kvUsed = 0;
  private lastBatch = 0;
  private readonly m = { requests: 0, prompt: 0, generated: 0, steps: 0, stepMs: 0 };

  constructor(opts: EchoEngineOptions = {}) {
    this.o = {
      tokenDelayMs: 1,
      prefillDelayMs: 1,
      maxBatch: 8,
      kvBlockSize: 16,
      kvBlocks: 4096,
      maxSeqLen: 512,
      tokensPerEvent: 1,
      ...opts,
    };
    this.config = {
      dim: 8,
      hiddenDim: 16,
      nLayers: 1,
      nHeads: 1,
      nKvHeads: 1,
      headDim: 8,
      vocabSize: 259,
      maxSeqLen: this.o.maxSeqLen,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeLayout: 'interleaved',
      tiedClassifier: true,
    };
  }

  metrics(): EngineMetrics {
    return {
      requestsTotal: this.m.requests,
      requestsRunning: this.running,
      requestsWaiting: this.waiters.length,
      promptTokensTotal: this.m.prompt,
      generatedTokensTotal: this.m.generated,
      stepsTotal: this.m.steps,
      stepMsTotal: this.m.stepMs,
      batchOccupancy: this.lastBatch / this.o.maxBatch,
      kvBlocksTotal: this.o.kvBlocks,
      kvBlocksUsed: this.kvUsed,
      preemptionsTotal: 0,
    };
  }

  async close(): Promise<void> {}

  /** Output: the prompt's bytes once (EOS after), cycling when EOS is ignored or min_tokens not reached yet. */
  async *generate(req: GenerationRequest, signal?: AbortSignal): AsyncGenerator<GenerationEvent, GenerationResult> {
    if (req.promptIds.length + req.maxTokens > this.config.maxSeqLen)
      throw badInput('prompt + max tokens exceed the context');
    this.m.requests++;
    const t0 = performance.now();
    const cancelled = (tokenIds: number[], text: string): GenerationResult => ({
      text,
      tokenIds,
      finishReason: 'cancelled',
      stats: this.stats(req, tokenIds, t0, t0, t0),
    });
    if (this.running >= this.o.maxBatch) {
      const gotSlot = await new Promise<boolean>((resolve) => {
        const w = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        };
        const onAbort = (): void => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve(false);
        };
        this.waiters.push(w);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (!gotSlot) return cancelled([], '');
    } else this.running++;
    let blocks = 0;
    const out: number[] = [];
    let text = '';
    try {
      const tQueue = performance.now();
      const content = req.promptIds.filter((id) => id >= BYTE0);
      const source = content.length > 0 ? content : [BYTE0 + 120]; // 'x' for an empty prompt
      const grow = (tokens: number): void => {
        const need = Math.ceil(tokens / this.o.kvBlockSize);
        this.kvUsed += need - blocks;
        blocks = need;
      };
      grow(req.promptIds.length);
      this.m.prompt += req.promptIds.length;
      await sleep(this.o.prefillDelayMs, undefined, { signal });
      const tPrefill = performance.now();
      let pos = 0;
      let emitted = 0; // chars of `text` already yielded
      const stops = req.stop ?? [];
      while (true) {
        const batch: number[] = [];
        let finish: 'stop' | 'length' | undefined;
        for (let k = 0; k < this.o.tokensPerEvent && !finish; k++) {
          const eosAllowed = !req.ignoreEos && out.length >= (req.minTokens ?? 0);
          const id = pos >= source.length && eosAllowed ? this.tokenizer.eos : source[pos++ % source.length]!;
          out.push(id);
          batch.push(id);
          if (id === this.tokenizer.eos) finish = 'stop';
          else if (out.length >= req.maxTokens) finish = 'length';
        }
        const stepStart = performance.now();
        await sleep(this.o.tokenDelayMs, undefined, { signal });
        this.lastBatch = this.running;
        this.m.steps++;
        this.m.stepMs += performance.now() - stepStart;
        this.m.generated += batch.length;
        grow(req.promptIds.length + out.length);
        text = this.tokenizer.decode(out);
        const hit = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
        if (hit.length > 0) {
          text = text.slice(0, Math.min(...hit));
          finish = 'stop';
        }
        const safe = finish ? text.length : text.length - heldTail(text, stops);
        const chunk = text.slice(emitted, safe).replace(/\uFFFD$/, ''); // a split UTF-8 sequence waits for its end
        emitted += chunk.length;
        yield { tokenIds: batch, text: chunk };
        if (finish)
          return { text, tokenIds: out, finishReason: finish, stats: this.stats(req, out, t0, tQueue, tPrefill) };
      }
    } catch (err) {
      if (signal?.aborted) return cancelled(out, text);
      throw err;
    } finally {
      this.kvUsed -= blocks;
      const next = this.waiters.shift();
      if (next) next();
      else this.running--;
    }
  }

  private stats(req: GenerationRequest, out: number[], t0: number, tQueue: number, tPrefill: number) {
    const now = performance.now();
    const decodeMs = now - tPrefill;
    return {
      promptTokens: req.promptIds.length,
      generatedTokens: out.length,
      queueMs: tQueue - t0,
      prefillMs: tPrefill - tQueue,
      decodeMs,
      decodeTokPerS: decodeMs > 0 ? (out.length * 1000) / decodeMs : 0,
    };
  }
}

export const echoEngineFactory =
  (opts: EchoEngineOptions = {}): EngineFactory =>
  async () =>
    new EchoEngine(opts);

/** Records every GenerationRequest, so tests can check how API parameters were mapped. */
export class RecordingEngine extends EchoEngine {
  readonly requests: GenerationRequest[] = [];
  override generate(req: GenerationRequest, signal?: AbortSignal): AsyncGenerator<GenerationEvent, GenerationResult> {
    this.requests.push(req);
    return super.generate(req, signal);
  }
}
