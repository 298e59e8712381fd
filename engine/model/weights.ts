import type { Tokenizer } from '../tokenizer/types.ts';
import type { ModelConfig } from './config.ts';

/**
 * A tensor that is materialised only when asked for, so a loader can stream a multi-GB model to the GPU
 * one tensor at a time (a 7B-shape preset never sits whole in host memory).
 */
export interface TensorSource {
  readonly shape: readonly number[];
  /** The values as f32, row-major. May allocate; callers drop it after upload. */
  read(): Float32Array;
  /** Set: element i is exactly Math.fround(scale * noiseValue(seed, i)) (noise.ts), so a GPU may generate it. */
  noise?: { seed: number; scale: number };
}

export type ModelFormat = 'llama2c' | 'gguf' | 'safetensors' | 'synthetic';

export interface ModelInfo {
  name: string; // what reports show, e.g. "stories260K" or "preset:tiny (synthetic)"
  format: ModelFormat;
  path?: string;
  synthetic: boolean; // reports label synthetic models
}

export interface LoadedModel {
  config: ModelConfig;
  info: ModelInfo;
  /** Tensors by canonical name (config.ts tensorNames). */
  tensor(name: string): TensorSource;
  tokenizer: Tokenizer;
}
