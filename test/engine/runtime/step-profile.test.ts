// `bench profile`'s measurements: every dispatch of a step timed once, under its kernel or weight name, and the
// ordinary pass timed on the CPU, on the GPU and to completion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import { ModelRunner } from '../../../engine/runtime/model-runner.ts';
import { profileStep, timeStep } from '../../../engine/runtime/step-profile.ts';
import { gpu } from '../../helpers/gpu.ts';

test('profileStep times each dispatch of a step by name; timeStep splits a pass into CPU, GPU and wall time', async () => {
  const ctx = await gpu();
  const model = await loadModel('preset:tiny');
  const runner = await ModelRunner.create(ctx, model, {
    maxTokens: 4,
    maxOut: 4,
    maxSeqs: 4,
    kvBlockSize: 16,
    numBlocks: 8,
    workgroupSize: 64,
  });
  for (let s = 0; s < 4; s++) runner.setBlockTable(s, [2 * s, 2 * s + 1]);
  const input = { tokens: [5, 6, 7, 8], positions: [20, 20, 20, 20], slots: [0, 1, 2, 3], outRows: [0, 1, 2, 3] };
  const times = await profileStep(runner, input);
  assert.equal(times.length, runner.dispatchesPerStep, 'every dispatch once');
  const count = (name: string) => times.filter((x) => x.name === name).length;
  const L = model.config.nLayers;
  assert.deepEqual([count('wqkv'), count('w13'), count('w2'), count('wo'), count('classifier')], [L, L, L, L, 1]);
  assert.equal(count('rmsnorm'), 2 * L + 1);
  assert.ok(times.every((x) => x.ms >= 0) && times.some((x) => x.ms > 0));
  const t = await timeStep(runner, input);
  assert.ok(t.encodeMs > 0 && t.wallMs >= t.encodeMs, JSON.stringify(t));
  if (ctx.hasTimestamps) assert.ok(t.gpuMs > 0 && t.gpuMs <= t.wallMs, JSON.stringify(t));
  runner.destroy();
});
