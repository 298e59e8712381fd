// The engine's run-time toggles as CLI flags (DESIGN.md: one name everywhere, --kebab-case on the command line,
// camelCase in scenarios and results). Every verb that builds an engine takes these.
import type { Command } from 'commander';
import { BenchError } from '../errors.ts';
import type { EngineOptions } from '../runtime/engine.ts';
import { DEFAULT_ENGINE_OPTIONS } from '../runtime/engine.ts';
import { enumArg, intArg } from './options.ts';

export const PRECISIONS = ['f32', 'f16', 'bf16'] as const;
export const BATCH_MODES = ['none', 'static', 'continuous'] as const;
export const WORKGROUP_SIZES = ['64', '128', '256'] as const;

export interface ToggleFlags {
  adapter?: string;
  precision: (typeof PRECISIONS)[number];
  workgroupSize: number;
  batch: EngineOptions['batch'];
  maxBatch: number;
  kvBlockSize: number;
  maxNumTokens: number;
  prefillChunk: number;
}

export function addToggleOptions(cmd: Command, defaults: { batch?: EngineOptions['batch'] } = {}): Command {
  const d = DEFAULT_ENGINE_OPTIONS;
  return cmd
    .option('--adapter <name>', 'WebGPU adapter to use (substring of its name; default: the first discrete GPU)')
    .option(
      '--precision <p>',
      `weight storage precision: ${PRECISIONS.join('|')}`,
      enumArg('--precision', PRECISIONS),
      'f32',
    )
    .option(
      '--workgroup-size <n>',
      `kernel workgroup size ("threads"): ${WORKGROUP_SIZES.join('|')}`,
      (v: string) => Number(enumArg('--workgroup-size', WORKGROUP_SIZES)(v)),
      d.workgroupSize,
    )
    .option(
      '--batch <mode>',
      `batching: ${BATCH_MODES.join('|')}`,
      enumArg('--batch', BATCH_MODES),
      defaults.batch ?? d.batch,
    )
    .option('--max-batch <n>', 'most sequences running at once', intArg('--max-batch', 1, 1024), d.maxBatch)
    .option('--kv-block-size <n>', 'tokens per KV-cache block', intArg('--kv-block-size', 1, 4096), d.kvBlockSize)
    .option('--max-num-tokens <n>', 'most tokens per engine step', intArg('--max-num-tokens', 1, 65536), d.maxNumTokens)
    .option(
      '--prefill-chunk <n>',
      'most prompt tokens of one sequence per step (0: no chunking)',
      intArg('--prefill-chunk', 0),
      0,
    );
}

export function engineOptions(f: ToggleFlags): Partial<EngineOptions> {
  if (f.precision !== 'f32') {
    throw new BenchError(
      'UNSUPPORTED',
      `--precision ${f.precision} is not implemented yet in this engine; use --precision f32`,
    );
  }
  return {
    batch: f.batch,
    maxBatch: f.maxBatch,
    kvBlockSize: f.kvBlockSize,
    maxNumTokens: f.maxNumTokens,
    prefillChunk: f.prefillChunk,
    workgroupSize: f.workgroupSize,
  };
}

/** What the engine actually ran with, for --json stats, /info and results files. */
export function togglesInEffect(f: ToggleFlags): Record<string, string | number> {
  return {
    precision: f.precision,
    quant: 'none',
    kvCache: 'f32',
    attention: 'naive',
    fusion: 'off',
    workgroupSize: f.workgroupSize,
    batch: f.batch,
    maxBatch: f.batch === 'none' ? 1 : f.maxBatch,
    kvBlockSize: f.kvBlockSize,
    maxNumTokens: f.maxNumTokens,
    prefillChunk: f.prefillChunk,
    spec: 'none',
    specDepth: 0,
  };
}
