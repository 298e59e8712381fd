// A small model with random weights of any shape, for comparing the GPU forward pass with the CPU reference on
// configurations the shipped checkpoints don't cover (grouped-query heads, half-split RoPE, untied classifier).
import { type ModelConfig, tensorShapes } from '../../engine/model/config.ts';
import type { LoadedModel } from '../../engine/model/weights.ts';
import { ByteLevelTokenizer } from '../../engine/tokenizer/byte-level.ts';
import { randoms } from './gpu.ts';

export function randomModel(overrides: Partial<ModelConfig> = {}, seed = 1): LoadedModel {
  const config: ModelConfig = {
    dim: 48,
    hiddenDim: 80,
    nLayers: 2,
    nHeads: 6,
    nKvHeads: 2,
    headDim: 8,
    vocabSize: 300,
    maxSeqLen: 64,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    tiedClassifier: false,
    ...overrides,
  };
  const tensors = new Map<string, Float32Array>();
  let s = seed;
  for (const [name, shape] of tensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Norm weights near 1, matrices scaled like a trained model's so activations stay O(1) through the layers.
    const isNorm = shape.length === 1;
    const v = randoms(n, s++, isNorm ? 0.5 : 1 / Math.sqrt(shape[1]!));
    if (isNorm) for (let i = 0; i < n; i++) v[i]! += 1;
    tensors.set(name, v);
  }
  return {
    config,
    info: { name: 'random', format: 'synthetic', synthetic: true },
    tokenizer: new ByteLevelTokenizer(config.vocabSize),
    tensor: (name) => {
      const data = tensors.get(name);
      const shape = tensorShapes(config).get(name);
      if (!data || !shape) throw new Error(`no tensor ${name}`);
      return { shape, read: () => data };
    },
  };
}
