// A target is what the load is pointed at: a spawned `bench serve` or a remote URL. Both end up as a base URL,
// a dialect and a tokenizer for prompt lengths; the engine target can also die, which the runner must notice.
import type { TargetInfo } from '../output/types.ts';
import type { Target } from '../scenario/schema.ts';
import type { PromptTokenizer, TokenizerFactory } from '../workload/tokenizer.ts';

export interface StartedTarget {
  info: TargetInfo;
  baseUrl: string;
  api: 'openai' | 'tgi';
  model?: string;
  /** May carry an API key: used for requests only, never written anywhere. */
  headers: Record<string, string>;
  tokenizer: PromptTokenizer;
  /** Set once the target has died (the engine process exited); a human-readable reason. */
  deathReason(): string | undefined;
  /** Registers a callback for the target's death (called at most once). */
  onDeath(cb: (reason: string) => void): void;
  /** Prometheus metrics, or undefined when the target has none. */
  scrapeMetrics(): Promise<Record<string, number> | undefined>;
  stop(): Promise<void>;
}

export interface TargetContext {
  tokenizerFor: TokenizerFactory;
  /** argv prefix that starts the engine server; default: this node, bin/bench.js, serve. Tests inject fakes. */
  serveCommand?: string[];
  /** Folder for server logs (engine targets write server-<n>.log there). */
  logDir?: string;
  /** Folder of the scenario file: relative model paths resolve against it, as prompt files and baselines do. */
  scenarioDir?: string;
  warn(message: string): void;
  signal?: AbortSignal;
}

export type TargetStarter = (target: Target, ctx: TargetContext, index: number) => Promise<StartedTarget>;
