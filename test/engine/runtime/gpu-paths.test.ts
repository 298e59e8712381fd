// The GPU code paths of the whole forward pass, run on lavapipe: the runner is told the adapter is not a CPU, so it
// launches what a real GPU gets (32-lane linear kernels with 4 rows per thread, the tiled flash-attention kernel with
// its split-K combine, workgroup-wide norms) instead of the CPU kernels. Logits of a prefill and of decodes must
// equal the CPU reference (f64) within 1e-4 relative per row for f32 weights, and the same format's CPU-path
// logits within 1e-4 for the packed formats (the same arithmetic through different kernels).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GpuContext } from '../../../engine/device/device.ts';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import type { AttentionKind } from '../../../engine/ops/attention.ts';
import type { Fusion } from '../../../engine/ops/fusion.ts';
import { tiledSplits } from '../../../engine/ops/tiled-launch.ts';
import { getWeightFormat, type IntDot, type WeightFormat } from '../../../engine/ops/weight-formats.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { ModelRunner } from '../../../engine/runtime/model-runner.ts';
import { gpu, relError } from '../../helpers/gpu.ts';
import { randomModel } from '../../helpers/random-model.ts';

const TOL = 1e-4;

async function logitsOf(
  ctx: GpuContext,
  model: LoadedModel,
  format: WeightFormat,
  attention: AttentionKind,
  fusion: Fusion,
  prompt: number[],
  intDot: IntDot = 'off',
): Promise<Float32Array[]> {
  const V = model.config.vocabSize;
  const r = await ModelRunner.create(ctx, model, {
    maxTokens: 48,
    maxOut: 48,
    maxSeqs: 1,
    kvBlockSize: 4,
    numBlocks: 64,
    workgroupSize: 64,
    weightFormat: format,
    attention,
    fusion,
    intDot,
  });
  r.setBlockTable(
    0,
    Array.from({ length: r.maxBlocksPerSeq }, (_, i) => (7 * i + 3) % 64),
  );
  // The prompt in two chunks: positions 0-19 (every context one split: no combine pass), then 20-39 (two splits
  // from position 32 on).
  const out: Float32Array[] = [];
  for (const [from, to] of [
    [0, 20],
    [20, prompt.length],
  ] as const) {
    const idx = Array.from({ length: to - from }, (_, i) => from + i);
    const logits = await r.step({
      tokens: idx.map((p) => prompt[p]!),
      positions: idx,
      slots: idx.map(() => 0),
      outRows: idx.map((_, i) => i),
    });
    for (let i = 0; i < idx.length; i++) out.push(logits.subarray(i * V, (i + 1) * V));
  }
  for (let step = 0; step < 3; step++) {
    const pos = prompt.length + step;
    out.push(await r.step({ tokens: [(11 * step + 2) % V], positions: [pos], slots: [0], outRows: [0] }));
  }
  r.destroy();
  return out;
}

function cpuLogits(model: LoadedModel, prompt: number[]): Float64Array[] {
  const ref = new CpuReference(model);
  const out: Float64Array[] = [...ref.forward(prompt, 0)];
  for (let step = 0; step < 3; step++) {
    out.push(ref.forward([(11 * step + 2) % model.config.vocabSize], prompt.length + step)[0]!);
  }
  return out;
}

// A 40-position prompt: with splits aligned to 32 positions, rows from 32 on and the decodes need two splits.
const prompt = Array.from({ length: 40 }, (_, i) => (i * 37 + 1) % 200);

for (const [name, load] of [
  ['preset:tiny', () => loadModel('preset:tiny')],
  [
    'a random GQA model (8 heads, 2 KV heads, head dim 16)',
    async () => randomModel({ dim: 128, nHeads: 8, nKvHeads: 2, headDim: 16 }),
  ],
] as const) {
  test(`GPU code paths on lavapipe, f32, ${name}: logits equal the CPU reference for attention x fusion`, async () => {
    const ctx = { ...(await gpu()), isSoftware: false };
    const model = await load();
    const want = cpuLogits(model, prompt);
    for (const attention of ['naive', 'flash'] as const) {
      for (const fusion of ['off', 'on'] as const) {
        const got = await logitsOf(ctx, model, getWeightFormat('f32'), attention, fusion, prompt);
        for (let i = 0; i < want.length; i++) {
          const e = relError(got[i]!, want[i]!);
          assert.ok(e <= TOL, `${attention}, fusion ${fusion}, row ${i}: relative error ${e}`);
        }
      }
    }
  });
}

async function samePackedLogits(model: LoadedModel, formats: WeightFormat[]): Promise<void> {
  const cpu = await gpu();
  const gpuPaths = { ...cpu, isSoftware: false };
  for (const format of formats) {
    const want = await logitsOf(cpu, model, format, 'flash', 'on', prompt);
    const got = await logitsOf(gpuPaths, model, format, 'flash', 'on', prompt);
    for (let i = 0; i < want.length; i++) {
      const e = relError(got[i]!, want[i]!);
      assert.ok(e <= TOL, `${format.name}, row ${i}: relative error ${e}`);
    }
  }
}

test('GPU code paths on lavapipe, packed formats: the same logits as the CPU paths of the format', async () => {
  await samePackedLogits(await loadModel('preset:tiny'), [
    getWeightFormat('f16'),
    getWeightFormat('bf16'),
    getWeightFormat('int8'),
    getWeightFormat('int4', { groupSize: 32, symmetric: false }),
  ]);
});

test('GPU code paths on lavapipe: a layer whose K the tiled kernel splits (w2, K = 512) gives the same logits', async () => {
  const config = { dim: 128, hiddenDim: 512, nHeads: 8, nKvHeads: 2, headDim: 16 };
  assert.ok(tiledSplits(config.dim, config.hiddenDim) > 1, 'the case must split');
  await samePackedLogits(randomModel(config), [getWeightFormat('f16'), getWeightFormat('int8')]);
});

test('GPU code paths on lavapipe, --int-dot on: integer formats stay near the CPU reference', async () => {
  // The GPU path runs prefill chunks of 16+ tokens through the tiled kernel (x not quantized) and decodes through
  // kernels/matmul_dot.wgsl (x quantized per chunk); the bound is what quantizing x costs, measured against the
  // reference run on the format's dequantized weights.
  const model = await loadModel('preset:tiny');
  const ctx = { ...(await gpu()), isSoftware: false };
  for (const format of [getWeightFormat('int8'), getWeightFormat('int4', { groupSize: 32, symmetric: false })]) {
    const want = await logitsOf(ctx, model, format, 'flash', 'on', prompt);
    const got = await logitsOf(ctx, model, format, 'flash', 'on', prompt, 'on');
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, relError(got[i]!, want[i]!));
    assert.ok(worst <= 0.03, `${format.name}: relative error ${worst}`);
    assert.ok(worst > 0, `${format.name}: int-dot gave the float kernels' logits exactly: was it used?`);
  }
});
