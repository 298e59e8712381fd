// The engine's options: every toggle with its default, and the runner's kernel options derived from them (one
// place for the engine, its draft runner, bench eval and bench profile).

import type { LoadedModel } from '../model/weights.ts';
import type { AttentionKind } from '../ops/attention.ts';
import type { Fusion } from '../ops/fusion.ts';
import type { KvCacheFormat } from '../ops/kv-cache.ts';
import type { SubgroupMatrixMode } from '../ops/subgroup-matrix.ts';
import { getWeightFormat, type IntDot } from '../ops/weight-formats.ts';
import type { SpecMethod } from '../spec/types.ts';
import type { DecodeAhead } from './decode-ahead.ts';
import type { RunnerOptions } from './model-runner.ts';
import type { BatchMode } from './scheduler.ts';

export interface EngineOptions {
  batch: BatchMode;
  maxBatch: number;
  maxNumTokens: number;
  prefillChunk: number;
  kvBlockSize: number;
  kvBlocks: number; // 0 = derived from maxBatch and the context, within kvBudgetBytes
  kvBudgetBytes: number;
  workgroupSize: number;
  precision: 'f32' | 'f16' | 'bf16'; // weight storage of the linear layers
  quant: 'none' | 'int8' | 'int4'; // overrides precision for the linear layers
  groupSize: number; // int4 groups along K
  symmetric: boolean; // int4: symmetric (scale) or asymmetric (scale + min)
  attention: AttentionKind; // engine/ops/attention.ts
  kvCache: KvCacheFormat; // engine/ops/kv-cache.ts
  fusion: Fusion; // engine/ops/fusion.ts: fused QKV and gate/up + SiLU linears
  intDot: IntDot; // int8/int4 layers: x quantized to int8, integer dot products (kernels/matmul_dot.wgsl)
  subgroupMatrix: SubgroupMatrixMode; // steps of many tokens on matrix units (engine/ops/subgroup-matrix.ts)
  decodeAhead: DecodeAhead; // engine/runtime/decode-ahead.ts: greedy decode steps submitted before the last is read
  spec: SpecMethod;
  specDepth: number; // tokens proposed per step (gpt-fast's speculate_k)
  ngramSize: number; // --spec ngram: longest suffix matched
  exitLayer: number; // --spec layerskip: layers the drafter runs
  draftModel?: LoadedModel; // --spec draft
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  batch: 'continuous',
  maxBatch: 32,
  maxNumTokens: 512,
  prefillChunk: 0,
  kvBlockSize: 16,
  kvBlocks: 0,
  kvBudgetBytes: 2 ** 31,
  workgroupSize: 256,
  precision: 'f32',
  quant: 'none',
  groupSize: 64,
  symmetric: true,
  attention: 'flash',
  kvCache: 'f32',
  fusion: 'on',
  intDot: 'on',
  subgroupMatrix: 'auto',
  decodeAhead: 'on',
  spec: 'none',
  specDepth: 4,
  ngramSize: 3,
  exitLayer: 1,
};

/** The runner's kernel toggles from the engine's (every runner of an engine, its draft's, bench eval and profile). */
export function kernelToggles(
  o: Pick<
    EngineOptions,
    | 'workgroupSize'
    | 'precision'
    | 'quant'
    | 'groupSize'
    | 'symmetric'
    | 'attention'
    | 'kvCache'
    | 'fusion'
    | 'intDot'
    | 'subgroupMatrix'
  >,
): Pick<
  RunnerOptions,
  'workgroupSize' | 'weightFormat' | 'attention' | 'kvCache' | 'fusion' | 'intDot' | 'subgroupMatrix'
> {
  return {
    workgroupSize: o.workgroupSize,
    weightFormat: weightFormatOf(o),
    attention: o.attention,
    kvCache: o.kvCache,
    fusion: o.fusion,
    intDot: o.intDot,
    subgroupMatrix: o.subgroupMatrix,
  };
}

/** The linear layers' format from the precision and quant toggles (quant wins: it quantizes from the weights). */
export function weightFormatOf(o: Pick<EngineOptions, 'precision' | 'quant' | 'groupSize' | 'symmetric'>) {
  if (o.quant === 'int4') return getWeightFormat('int4', { groupSize: o.groupSize, symmetric: o.symmetric });
  if (o.quant === 'int8') return getWeightFormat('int8');
  return getWeightFormat(o.precision);
}
