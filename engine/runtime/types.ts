import type { ModelConfig } from '../model/config.ts';
import type { ModelInfo } from '../model/weights.ts';
import type { SamplingParams } from '../sampling/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';

/** One completion as the engine sees it: token ids in, token ids out. Text handling stays outside. */
export interface GenerationRequest {
  promptIds: number[]; // BOS included when the model wants one
  maxTokens: number;
  sampling: SamplingParams;
  stop?: string[]; // stop strings, matched on decoded text
  ignoreEos?: boolean; // load tests need fixed output lengths
  minTokens?: number; // EOS is ignored before this many tokens
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** Emitted as tokens are produced; `text` is the newly completed text (UTF-8 safe, stop strings withheld). */
export interface GenerationEvent {
  tokenIds: number[];
  text: string;
}

export interface RequestStats {
  promptTokens: number;
  generatedTokens: number;
  queueMs: number;
  prefillMs: number;
  decodeMs: number;
  decodeTokPerS: number;
  spec?: { proposed: number; accepted: number; steps: number }; // steps: verification passes
}

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  stats: RequestStats;
}

/** Engine-wide counters for /metrics and reports. */
export interface EngineMetrics {
  requestsTotal: number;
  requestsRunning: number;
  requestsWaiting: number;
  promptTokensTotal: number;
  generatedTokensTotal: number;
  stepsTotal: number;
  stepMsTotal: number;
  batchOccupancy: number; // running sequences in the last step / maxBatch
  kvBlocksTotal: number;
  kvBlocksUsed: number;
  preemptionsTotal: number;
  /** Speculative decoding, when on: drafts proposed/accepted and verification steps by drafts accepted. */
  spec?: {
    proposedTotal: number;
    acceptedTotal: number;
    stepsTotal: number; // verification passes
    rejectionsTotal: number; // passes that rejected a draft
    acceptedHistogram: number[]; // passes by drafts accepted (index 0..depth)
    proposedHistogram: number[]; // passes by drafts proposed (index 0..depth)
  };
}

/** What the server and the CLI talk to. One engine serves many concurrent sequences through its scheduler. */
export interface Engine {
  readonly config: ModelConfig;
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  /** Yields events as tokens arrive and returns the result; aborting the signal cancels and frees the sequence. */
  generate(req: GenerationRequest, signal?: AbortSignal): AsyncGenerator<GenerationEvent, GenerationResult>;
  metrics(): EngineMetrics;
  close(): Promise<void>;
}
