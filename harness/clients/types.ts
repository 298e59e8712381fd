// What a client returns for one request: raw times and counts, nothing derived. Metrics are computed from these
// by harness/metrics, the same way for every dialect.
import type { RequestSpec } from '../workload/prompts.ts';

export const ERROR_KINDS = [
  'timeout',
  'http4xx',
  'http5xx',
  'connection',
  'malformed',
  'truncated',
  'cancelled',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface RequestError {
  kind: ErrorKind;
  message: string;
  status?: number;
}

export interface StreamOutcome {
  sentAt: number; // performance.now() just before the request was handed to the socket pool
  endAt: number; // stream end, error, or abort
  /** Arrival time of each chunk that carried tokens, and how many tokens it carried. */
  chunkTimes: number[];
  chunkTokens: number[];
  /** True when every chunk's token count came from the server (usage deltas, token ids, TGI events). */
  tokensExact: boolean;
  promptTokensReported?: number;
  outputTokensReported?: number;
  finishReason?: string;
  error?: RequestError;
}

export interface ClientOptions {
  baseUrl: string;
  model?: string;
  headers: Record<string, string>; // may carry an API key: never logged or stored
  connections: number | null; // null: no limit (open loop)
  timeoutMs: number;
}

/** One dialect (OpenAI completions, TGI generate_stream); a registry keyed by `api` picks it. */
export interface StreamClient {
  send(req: RequestSpec, signal?: AbortSignal): Promise<StreamOutcome>;
  close(): Promise<void>;
}
