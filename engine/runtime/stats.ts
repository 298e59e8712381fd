// Hardware-efficiency figures next to tok/s (DESIGN.md rule 9): bytes a decode step reads per token, the
// bandwidth that implies, and MBU against the device's measured copy bandwidth.
import type { ModelConfig } from '../model/config.ts';
import type { ModelRunner } from './model-runner.ts';
import type { RequestStats } from './types.ts';

export interface DecodeStats extends RequestStats {
  bytesPerToken: number;
  achievedGBps: number;
  mbu: number; // achieved / measured copy bandwidth
  deviceGBps: number;
  dispatchesPerStep: number;
  memory: { weightsBytes: number; kvBytes: number; scratchBytes: number };
}

/** KV bytes read per decoded token at context length `ctx` (keys and values of every layer). */
export function kvBytesRead(c: ModelConfig, ctx: number, bytesPerValue = 4): number {
  return 2 * c.nLayers * c.nKvHeads * c.headDim * bytesPerValue * ctx;
}

export function decodeStats(runner: ModelRunner, c: ModelConfig, s: RequestStats, deviceGBps: number): DecodeStats {
  // Batch-1 decode reads every weight once per token, plus the KV cache up to the current position (mean context).
  const meanCtx = s.promptTokens + s.generatedTokens / 2;
  const bytesPerToken = runner.weightReadBytes + kvBytesRead(c, meanCtx);
  const achievedGBps = (bytesPerToken * s.decodeTokPerS) / 1e9;
  return {
    ...s,
    bytesPerToken,
    achievedGBps,
    mbu: deviceGBps > 0 ? achievedGBps / deviceGBps : 0,
    deviceGBps,
    dispatchesPerStep: runner.dispatchesPerStep,
    memory: { weightsBytes: runner.weightBytes, kvBytes: runner.kvBytes, scratchBytes: runner.scratchBytes },
  };
}
