// The whole GPU forward pass against the CPU reference (f64) on logits: prefill in one step, then decodes, and
// a step that mixes two sequences. Bound: max |gpu - cpu| / max |cpu| <= 1e-4 over each logits row (f32
// accumulation through every layer; observed ~1e-6).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { ModelConfig } from '../../../engine/model/config.ts';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { ModelRunner } from '../../../engine/runtime/model-runner.ts';
import { gpu, relError } from '../../helpers/gpu.ts';
import { randomModel } from '../../helpers/random-model.ts';

const TOL = 1e-4;
const SHARED = '../shared/models/stories260K';

async function runner(model: LoadedModel, workgroupSize = 128) {
  const r = await ModelRunner.create(await gpu(), model, {
    maxTokens: 32,
    maxOut: 32,
    maxSeqs: 2,
    kvBlockSize: 4,
    numBlocks: 40,
    workgroupSize,
  });
  // Blocks deliberately out of order and interleaved between the two slots.
  const perSeq = r.maxBlocksPerSeq;
  r.setBlockTable(
    0,
    Array.from({ length: perSeq }, (_, i) => (2 * i + 1) % 40),
  );
  r.setBlockTable(
    1,
    Array.from({ length: perSeq }, (_, i) => (2 * i) % 40),
  );
  return r;
}

function rows(logits: Float32Array, V: number, n: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => logits.subarray(i * V, (i + 1) * V));
}

async function checkPrefillThenDecode(model: LoadedModel, prompt: number[], workgroupSize = 128) {
  const V = model.config.vocabSize;
  const r = await runner(model, workgroupSize);
  const ref = new CpuReference(model);
  const idx = prompt.map((_, i) => i);
  const got = rows(
    await r.step({ tokens: prompt, positions: idx, slots: idx.map(() => 0), outRows: idx }),
    V,
    prompt.length,
  );
  const want = ref.forward(prompt, 0);
  for (let i = 0; i < prompt.length; i++) assert.ok(relError(got[i]!, want[i]!) <= TOL, `prefill row ${i}`);
  for (let step = 0; step < 3; step++) {
    const pos = prompt.length + step;
    const tok = (17 * step + 5) % V;
    const [g] = rows(await r.step({ tokens: [tok], positions: [pos], slots: [0], outRows: [0] }), V, 1);
    const [w] = ref.forward([tok], pos);
    assert.ok(relError(g!, w!) <= TOL, `decode step ${step}`);
  }
}

const shapes: [string, Partial<ModelConfig>][] = [
  ['grouped-query, half-split RoPE, untied classifier', {}],
  ['multi-query, interleaved RoPE, tied classifier', { nKvHeads: 1, ropeLayout: 'interleaved', tiedClassifier: true }],
  ['multi-head, head dim 16', { nHeads: 3, nKvHeads: 3, headDim: 16 }],
];
for (const [name, cfg] of shapes) {
  test(`forward pass matches the CPU reference: ${name}`, async () => {
    await checkPrefillThenDecode(randomModel(cfg), [1, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]);
  });
}

test('workgroup sizes 64 and 256 give the same logits as the reference', async () => {
  for (const wg of [64, 256]) await checkPrefillThenDecode(randomModel({}, 7), [1, 5, 9, 200, 33], wg);
});

test('one step mixing a prefill of one sequence and a decode of another equals each alone', async () => {
  const model = randomModel({}, 3);
  const V = model.config.vocabSize;
  const r = await runner(model);
  const a = new CpuReference(model);
  const b = new CpuReference(model);
  const promptB = [1, 40, 41, 42];
  await r.step({ tokens: promptB, positions: [0, 1, 2, 3], slots: [1, 1, 1, 1], outRows: [] });
  b.forward(promptB, 0);
  const promptA = [1, 7, 8, 9, 10, 11];
  const got = rows(
    await r.step({
      tokens: [...promptA, 43],
      positions: [0, 1, 2, 3, 4, 5, 4],
      slots: [0, 0, 0, 0, 0, 0, 1],
      outRows: [5, 6],
    }),
    V,
    2,
  );
  assert.ok(relError(got[0]!, a.forward(promptA, 0)[5]!) <= TOL, 'sequence A (prefill)');
  assert.ok(relError(got[1]!, b.forward([43], 4)[0]!) <= TOL, 'sequence B (decode)');
});

test('stories260K logits match the CPU reference', { skip: !existsSync(SHARED) && `${SHARED} not found` }, async () => {
  const model = await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  await checkPrefillThenDecode(model, model.tokenizer.encode('Once upon a time, a little', { bos: true }));
});
