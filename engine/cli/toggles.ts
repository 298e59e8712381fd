// The engine's run-time toggles as CLI flags (DESIGN.md: one name everywhere, --kebab-case on the command line,
// camelCase in scenarios and results). Every verb that builds an engine takes these.
import type { Command } from 'commander';
import { type DeviceOptions, GPU_CHECK_MODES, type GpuChecks, type GpuContext } from '../device/device.ts';
import { BenchError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { ATTENTION_KINDS } from '../ops/attention.ts';
import { FUSION_MODES } from '../ops/fusion.ts';
import { KV_CACHE_FORMATS } from '../ops/kv-cache.ts';
import { SUBGROUP_MATRIX_MODES, subgroupMatrixInEffect } from '../ops/subgroup-matrix.ts';
import { INT_DOT_MODES } from '../ops/weight-formats.ts';
import { DECODE_AHEAD_MODES } from '../runtime/decode-ahead.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions } from '../runtime/engine-options.ts';
import { SPEC_METHODS, type SpecMethod } from '../spec/types.ts';
import { enumArg, intArg } from './options.ts';

export const PRECISIONS = ['f32', 'f16', 'bf16'] as const;
export const QUANTS = ['none', 'int8', 'int4'] as const;
export const GROUP_SIZES = ['32', '64', '128'] as const;
export const BATCH_MODES = ['none', 'static', 'continuous'] as const;
export const WORKGROUP_SIZES = ['64', '128', '256'] as const;

export interface ToggleFlags {
  adapter?: string;
  gpuChecks: GpuChecks;
  precision: (typeof PRECISIONS)[number];
  quant: (typeof QUANTS)[number];
  groupSize: number;
  asymmetric?: boolean;
  workgroupSize: number;
  attention: EngineOptions['attention'];
  fusion: EngineOptions['fusion'];
  intDot: EngineOptions['intDot'];
  subgroupMatrix: EngineOptions['subgroupMatrix'];
  decodeAhead: EngineOptions['decodeAhead'];
  kvCache: EngineOptions['kvCache'];
  batch: EngineOptions['batch'];
  maxBatch: number;
  kvBlockSize: number;
  maxNumTokens: number;
  prefillChunk: number;
  spec: SpecMethod;
  specDepth: number;
  draftModel?: string;
  ngramSize: number;
  exitLayer: number;
}

export function addToggleOptions(cmd: Command, defaults: { batch?: EngineOptions['batch'] } = {}): Command {
  const d = DEFAULT_ENGINE_OPTIONS;
  return cmd
    .option('--adapter <name>', 'WebGPU adapter to use (substring of its name; default: the first discrete GPU)')
    .option(
      '--gpu-checks <on|off>',
      `Dawn's WebGPU safety checks (API validation, bounds-checked buffer access, zeroed workgroup memory): ${GPU_CHECK_MODES.join('|')} (on: slower, engine bugs surface as WebGPU errors)`,
      enumArg('--gpu-checks', GPU_CHECK_MODES),
      'off',
    )
    .option('--precision <p>', `weight storage: ${PRECISIONS.join('|')}`, enumArg('--precision', PRECISIONS), 'f32')
    .option(
      '--quant <q>',
      `weight quantization: ${QUANTS.join('|')} (from the weights on load)`,
      enumArg('--quant', QUANTS),
      'none',
    )
    .option(
      '--group-size <n>',
      `int4 group size: ${GROUP_SIZES.join('|')}`,
      (v: string) => Number(enumArg('--group-size', GROUP_SIZES)(v)),
      64,
    )
    .option('--asymmetric', 'int4: asymmetric groups (scale and minimum) instead of symmetric')
    .option(
      '--workgroup-size <n>',
      `kernel workgroup size ("threads"): ${WORKGROUP_SIZES.join('|')}`,
      (v: string) => Number(enumArg('--workgroup-size', WORKGROUP_SIZES)(v)),
      d.workgroupSize,
    )
    .option(
      '--attention <kind>',
      `attention kernel: ${ATTENTION_KINDS.join('|')} (flash: online softmax, long contexts split over workgroups)`,
      enumArg('--attention', ATTENTION_KINDS),
      d.attention,
    )
    .option(
      '--kv-cache <format>',
      `KV-cache storage: ${KV_CACHE_FORMATS.join('|')} (int8: a scale per position and head)`,
      enumArg('--kv-cache', KV_CACHE_FORMATS),
      d.kvCache,
    )
    .option(
      '--fusion <on|off>',
      `fused kernels: ${FUSION_MODES.join('|')} (one QKV linear; gate/up in one linear that applies SiLU)`,
      enumArg('--fusion', FUSION_MODES),
      d.fusion,
    )
    .option(
      '--int-dot <on|off>',
      `int8/int4 weights: ${INT_DOT_MODES.join('|')} (on: activations quantized to int8 per block, integer dot products)`,
      enumArg('--int-dot', INT_DOT_MODES),
      d.intDot,
    )
    .option(
      '--subgroup-matrix <mode>',
      `steps of many tokens (batches, prefill) on the GPU's matrix units: ${SUBGROUP_MATRIX_MODES.join('|')} (auto: where the adapter has them; f16/bf16/int8/int4 weights)`,
      enumArg('--subgroup-matrix', SUBGROUP_MATRIX_MODES),
      d.subgroupMatrix,
    )
    .option(
      '--decode-ahead <on|off>',
      'on: a greedy decode step is submitted while the one before it runs, its tokens fed on the GPU',
      enumArg('--decode-ahead', DECODE_AHEAD_MODES),
      d.decodeAhead,
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
    )
    .option(
      '--spec <method>',
      `speculative decoding: ${SPEC_METHODS.join('|')}`,
      enumArg('--spec', SPEC_METHODS),
      'none',
    )
    .option('--spec-depth <k>', 'tokens proposed per step', intArg('--spec-depth', 1, 32), d.specDepth)
    .option('--draft-model <m>', '--spec draft: the draft model (file, folder or preset:NAME; same tokenizer)')
    .option('--ngram-size <n>', '--spec ngram: longest suffix looked up', intArg('--ngram-size', 1, 16), d.ngramSize)
    .option('--exit-layer <l>', '--spec layerskip: layers the drafter runs', intArg('--exit-layer', 1), d.exitLayer);
}

/** Engine options from validated flags; loads the draft model (with the target's tokenizer file, if one was given). */
export async function engineOptions(f: ToggleFlags, tokenizer?: string): Promise<Partial<EngineOptions>> {
  if (f.spec === 'draft' && !f.draftModel)
    throw new BenchError('BAD_INPUT', '--spec draft needs --draft-model FILE|preset:NAME');
  const draftModel = f.spec === 'draft' ? await loadModel(f.draftModel!, tokenizer ? { tokenizer } : {}) : undefined;
  return {
    batch: f.batch,
    maxBatch: f.maxBatch,
    kvBlockSize: f.kvBlockSize,
    maxNumTokens: f.maxNumTokens,
    prefillChunk: f.prefillChunk,
    workgroupSize: f.workgroupSize,
    attention: f.attention,
    fusion: f.fusion,
    intDot: f.intDot,
    subgroupMatrix: f.subgroupMatrix,
    decodeAhead: f.decodeAhead,
    kvCache: f.kvCache,
    precision: f.precision,
    quant: f.quant,
    groupSize: f.groupSize,
    symmetric: !f.asymmetric,
    spec: f.spec,
    specDepth: f.specDepth,
    ngramSize: f.ngramSize,
    exitLayer: f.exitLayer,
    ...(draftModel ? { draftModel } : {}),
  };
}

/** The device the toggles ask for (--adapter, --gpu-checks). */
export function deviceOptions(f: Pick<ToggleFlags, 'adapter' | 'gpuChecks'>): DeviceOptions {
  return { ...(f.adapter ? { adapter: f.adapter } : {}), checks: f.gpuChecks };
}

/** What the engine actually ran with on this adapter, for --json stats, /info and results files. */
export function togglesInEffect(
  f: ToggleFlags,
  adapter: Pick<GpuContext, 'subgroupMatrix' | 'adapterName' | 'checks'>,
): Record<string, string | number> {
  const packed = f.precision !== 'f32' || f.quant !== 'none';
  return {
    gpuChecks: adapter.checks,
    precision: f.precision,
    quant: f.quant === 'int4' ? `int4-g${f.groupSize}${f.asymmetric ? '-asym' : ''}` : f.quant,
    kvCache: f.kvCache,
    attention: f.attention,
    fusion: f.fusion,
    ...(f.quant === 'none' ? {} : { intDot: f.intDot }),
    subgroupMatrix: subgroupMatrixInEffect(f.subgroupMatrix, adapter, packed),
    decodeAhead: f.decodeAhead,
    workgroupSize: f.workgroupSize,
    batch: f.batch,
    maxBatch: f.batch === 'none' ? 1 : f.maxBatch,
    kvBlockSize: f.kvBlockSize,
    maxNumTokens: f.maxNumTokens,
    prefillChunk: f.prefillChunk,
    spec: f.spec,
    specDepth: f.spec === 'none' ? 0 : f.specDepth,
    ...(f.spec === 'draft' ? { draftModel: f.draftModel ?? '' } : {}),
    ...(f.spec === 'ngram' ? { ngramSize: f.ngramSize } : {}),
    ...(f.spec === 'layerskip' ? { exitLayer: f.exitLayer } : {}),
  };
}
