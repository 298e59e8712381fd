// --fusion on against off, per weight format, on preset:tiny (whose f32 matrices are generated on the device, so the
// fused ones are assembled there) and a grouped-query random model: the same prefill and decode steps give the same
// logits within f32 rounding (relative 1e-5), both match the CPU reference run on the format's dequantized weights
// (relative 1e-4, as model-runner.test.ts), and fusion saves 4 dispatches a layer (wq, wk, wv -> wqkv; w1, w3,
// swiglu -> w13), 5 where rope_kv folds into wqkv too. The runner picks CPU kernels on lavapipe; test/kernels/fusion.test.ts covers the GPU layouts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensorNames } from '../../../engine/model/config.ts';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import type { Fusion } from '../../../engine/ops/fusion.ts';
import { getWeightFormat, type IntDot, type WeightFormat } from '../../../engine/ops/weight-formats.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { ModelRunner } from '../../../engine/runtime/model-runner.ts';
import { gpu, relError } from '../../helpers/gpu.ts';
import { randomModel } from '../../helpers/random-model.ts';

const FORMATS = [
  getWeightFormat('f32'),
  getWeightFormat('f16'),
  getWeightFormat('bf16'),
  getWeightFormat('int8'),
  getWeightFormat('int4', { groupSize: 32 }),
];

/** The model as the format stores it: every matrix but the embedding packed and unpacked (the CPU reference's input). */
function dequantized(model: LoadedModel, format: WeightFormat): LoadedModel {
  return {
    ...model,
    tensor: (name) => {
      const t = model.tensor(name);
      if (t.shape.length !== 2 || name === tensorNames.embedding || format.name === 'f32') return t;
      const [rows, cols] = t.shape as [number, number];
      const values = format.dequantize(format.pack(t.read(), rows, cols));
      return { shape: t.shape, read: () => values };
    },
  };
}

/** Logits of a 10-token prefill (two token tiles) and two decode steps, one array per step. */
async function logits(model: LoadedModel, format: WeightFormat, fusion: Fusion, intDot: IntDot) {
  const r = await ModelRunner.create(await gpu(), model, {
    maxTokens: 16,
    maxOut: 16,
    maxSeqs: 1,
    kvBlockSize: 4,
    numBlocks: 8,
    workgroupSize: 64,
    weightFormat: format,
    fusion,
    intDot,
  });
  r.setBlockTable(0, [3, 0, 5, 1, 6, 2, 7, 4]);
  const prompt = [1, 72, 101, 108, 108, 111, 32, 119, 111, 114];
  const idx = prompt.map((_, i) => i);
  const out = [await r.step({ tokens: prompt, positions: idx, slots: idx.map(() => 0), outRows: idx })];
  for (const [i, tok] of [17, 200].entries()) {
    out.push(await r.step({ tokens: [tok], positions: [prompt.length + i], slots: [0], outRows: [0] }));
  }
  const dispatches = r.dispatchesPerStep;
  r.destroy();
  return { out, dispatches, inputs: [prompt, [17], [200]] };
}

/** refTol: against the CPU reference, which does not quantize x (--int-dot on does). */
async function check(model: LoadedModel, format: WeightFormat, intDot: IntDot = 'off', refTol = 1e-4) {
  const on = await logits(model, format, 'on', intDot);
  const off = await logits(model, format, 'off', intDot);
  // rope_kv too where RoPE and the KV store fold into wqkv: the interleaved layout (tiny; the random model is half-split)
  const saved = model.config.ropeLayout === 'interleaved' ? 5 : 4;
  assert.equal(on.dispatches, off.dispatches - saved * model.config.nLayers, 'dispatches per step');
  const ref = new CpuReference(dequantized(model, format));
  const V = model.config.vocabSize;
  let pos = 0;
  on.out.forEach((got, step) => {
    const tokens = on.inputs[step]!;
    const want = ref.forward(tokens, pos);
    pos += tokens.length;
    for (let i = 0; i < tokens.length; i++) {
      const row = (a: Float32Array) => a.subarray(i * V, (i + 1) * V);
      const where = `step ${step} row ${i}`;
      assert.ok(relError(row(got), row(off.out[step]!)) <= 1e-5, `fused vs unfused, ${where}`);
      const e = relError(row(got), want[i]!);
      assert.ok(e <= refTol, `fused vs CPU reference, ${where}: relative error ${e}`);
    }
  });
}

// Grouped 4:1 (tiny is 2:1) at tiny's width, so most pipelines are tiny's (lavapipe compiles each one for seconds).
const gqa = () => randomModel({ dim: 128, hiddenDim: 352, nHeads: 8, nKvHeads: 2, headDim: 16, vocabSize: 259 }, 5);

for (const format of FORMATS) {
  test(`fusion on equals off and the CPU reference: preset:tiny, ${format.name}`, async () => {
    await check(await loadModel('preset:tiny'), format);
  });
  test(`fusion on equals off and the CPU reference: grouped-query 4:1, ${format.name}`, async () => {
    await check(gqa(), format);
  });
}

// --int-dot on (the default for integer formats): the same x quantization whether fused or not, so fused and
// unfused agree within f32 rounding; against the unquantized CPU reference, within what quantizing x costs.
for (const format of FORMATS.filter((f) => f.intDot)) {
  test(`fusion on equals off with --int-dot on, near the CPU reference: preset:tiny, ${format.name}`, async () => {
    await check(await loadModel('preset:tiny'), format, 'on', 0.03);
  });
}
