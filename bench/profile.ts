// Where a decode step's time goes: GPU time per kernel (timestamp queries; on adapters without them, each dispatch
// submitted and waited for alone) for a decode step of B sequences at context position P, summed over layers.
// Same procedure every run: 3 warm-up steps, then 5 profiled steps; per kernel the median of the 5 is printed, with
// the whole step's wall time (median of 5 ordinary steps, and of 5 without reading logits back) for comparison.
//   node --import tsx bench/profile.ts [--model preset:llama-1b] [--format f16] [--attention flash] [--batches 1,32]
//     [--context 128] [--workgroup-size 128] [--fusion on]
import { cpus } from 'node:os';
import { createDevice } from '../engine/device/device.ts';
import { loadModel } from '../engine/model/load.ts';
import type { AttentionKind } from '../engine/ops/attention.ts';
import type { Fusion } from '../engine/ops/fusion.ts';
import { DEFAULT_ENGINE_OPTIONS, weightFormatOf } from '../engine/runtime/engine.ts';
import { ModelRunner, type StepInput } from '../engine/runtime/model-runner.ts';
import { profileStep, timeStep } from '../engine/runtime/step-profile.ts';
import { arg, formatToggles } from './common.ts';

const spec = arg('model', 'preset:tiny');
const format = arg('format', 'f32');
const batches = arg('batches', '1,32').split(',').map(Number);
const context = Number(arg('context', '128'));
const attention = arg('attention', DEFAULT_ENGINE_OPTIONS.attention) as AttentionKind;
const fusion = arg('fusion', DEFAULT_ENGINE_OPTIONS.fusion) as Fusion;
const workgroupSize = Number(arg('workgroup-size', String(DEFAULT_ENGINE_OPTIONS.workgroupSize)));
const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
const model = await loadModel(
  spec,
  spec.endsWith('.bin') && process.argv.includes('--tokenizer') ? { tokenizer: arg('tokenizer', '') } : {},
);
const c = model.config;
const maxB = Math.max(...batches);
const kvBlockSize = 16;
const perSeq = Math.ceil((context + 1) / kvBlockSize);
const runner = await ModelRunner.create(ctx, model, {
  maxTokens: maxB,
  maxOut: maxB,
  maxSeqs: maxB,
  kvBlockSize,
  numBlocks: maxB * perSeq,
  workgroupSize,
  weightFormat: weightFormatOf({ ...DEFAULT_ENGINE_OPTIONS, ...formatToggles(format) }),
  attention,
  fusion,
});
for (let s = 0; s < maxB; s++)
  runner.setBlockTable(
    s,
    Array.from({ length: perSeq }, (_, i) => s * perSeq + i),
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const how = ctx.hasTimestamps ? 'timestamp queries' : 'one submit per dispatch (includes submit overhead)';
console.log(`adapter: ${ctx.adapterName}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; timing: ${how}`);
console.log(
  `${model.info.name}, ${format}, ${attention} attention, fusion ${fusion}, decode at position ${context}, ${runner.dispatchesPerStep} dispatches/step\n`,
);
for (const b of batches) {
  // B decode tokens of B sequences (KV contents are whatever the pool holds: timing does not depend on them).
  const input: StepInput = {
    tokens: Array.from({ length: b }, (_, i) => 3 + (i % (c.vocabSize - 3))),
    positions: new Array(b).fill(context),
    slots: Array.from({ length: b }, (_, i) => i),
    outRows: Array.from({ length: b }, (_, i) => i),
  };
  for (let i = 0; i < 3; i++) await runner.step(input);
  const wall = async (x: StepInput) => {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await runner.step(x);
      ms.push(performance.now() - t0);
    }
    return median(ms);
  };
  const stepMs = await wall(input);
  const timed: { encodeMs: number; gpuMs: number; wallMs: number }[] = [];
  for (let i = 0; i < 5; i++) timed.push(await timeStep(runner, input));
  const med = (k: 'encodeMs' | 'gpuMs' | 'wallMs') => median(timed.map((x) => x[k])).toFixed(3);
  const noReadbackMs = await wall({ ...input, outRows: [] });
  const perKernel = new Map<string, { count: number; ms: number[] }>();
  for (let rep = 0; rep < 5; rep++) {
    const sums = new Map<string, { count: number; ms: number }>();
    for (const { name, ms } of await profileStep(runner, input)) {
      const e = sums.get(name) ?? { count: 0, ms: 0 };
      sums.set(name, { count: e.count + 1, ms: e.ms + ms });
    }
    for (const [name, { count, ms }] of sums) {
      const e = perKernel.get(name) ?? { count, ms: [] };
      e.ms.push(ms);
      perKernel.set(name, e);
    }
  }
  const rows = [...perKernel].map(([name, e]) => ({ name, count: e.count, ms: median(e.ms) }));
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `batch ${b}: one pass: encode + submit ${med('encodeMs')} ms (CPU), pass ${med('gpuMs')} ms (GPU), until done ${med('wallMs')} ms`,
  );
  console.log(
    `batch ${b}: step wall ${stepMs.toFixed(3)} ms (${noReadbackMs.toFixed(3)} without the logits readback), sum of kernels ${total.toFixed(3)} ms`,
  );
  console.log('| kernel | dispatches | ms/step | share |\n| --- | --- | --- | --- |');
  for (const r of rows.sort((x, y) => y.ms - x.ms)) {
    console.log(`| ${r.name} | ${r.count} | ${r.ms.toFixed(3)} | ${((r.ms / total) * 100).toFixed(1)}% |`);
  }
  console.log('');
}
runner.destroy();
process.exit(0);
