// `bench profile`: where a decode step's time goes, per kernel, for any toggle combination. GPU time per kernel
// from timestamp queries (adapters without them: each dispatch submitted and waited for alone), summed over layers,
// beside the ordinary step's CPU encode, GPU pass and wall time (engine/runtime/step-profile.ts).
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { createDevice } from '../device/device.ts';
import { BenchError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { DEFAULT_ENGINE_OPTIONS, kernelToggles } from '../runtime/engine-options.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import { type DecodeProfile, profileDecode } from '../runtime/step-profile.ts';
import { intArg } from './options.ts';
import { addToggleOptions, deviceOptions, engineOptions, type ToggleFlags, togglesInEffect } from './toggles.ts';

interface ProfileFlags extends ToggleFlags {
  model: string;
  tokenizer?: string;
  batches: string;
  context: number;
  json?: boolean;
}

function batchList(v: string): number[] {
  const out = v.split(',').map((x) => Number(x.trim()));
  if (out.length === 0 || out.some((b) => !Number.isInteger(b) || b < 1 || b > 4096)) {
    throw new BenchError('BAD_INPUT', `--batches must be a comma-separated list of integers 1..4096, got "${v}"`);
  }
  return out;
}

function printProfile(p: DecodeProfile): void {
  const f = (ms: number) => ms.toFixed(3);
  const total = p.kernels.reduce((s, k) => s + k.ms, 0);
  const lines = [
    `batch ${p.batch}: one pass: encode + submit ${f(p.pass.encodeMs)} ms (CPU), pass ${f(p.pass.gpuMs)} ms (GPU), until done ${f(p.pass.wallMs)} ms`,
    `batch ${p.batch}: step wall ${f(p.stepMs)} ms greedy (token ids read back; ${f(p.logitsMs)} with every row's logits, ${f(p.noReadbackMs)} with nothing), sum of kernels ${f(total)} ms`,
    '| kernel | dispatches | ms/step (own passes) | share | ms/step in the pass (leave-one-out) |',
    '| --- | --- | --- | --- | --- |',
    ...p.kernels.map(
      (k) => `| ${k.name} | ${k.dispatches} | ${f(k.ms)} | ${((k.ms / total) * 100).toFixed(1)}% | ${f(k.inPassMs)} |`,
    ),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerProfile(program: Command): void {
  const cmd = program
    .command('profile')
    .description('GPU time per kernel of a decode step, for any toggles')
    .requiredOption('--model <m>', 'checkpoint file, model folder, or preset:NAME')
    .option('--tokenizer <file>', 'tokenizer file; default: found beside the model')
    .option('--batches <list>', 'sequences decoding in the step, e.g. 1,8,32', '1,32')
    .option('--context <n>', 'the position they decode at', intArg('--context', 0), 128)
    .option('--json', 'print the measurements as JSON');
  addToggleOptions(cmd).action(async (f: ProfileFlags) => {
    const batches = batchList(f.batches);
    const opts = { ...DEFAULT_ENGINE_OPTIONS, ...(await engineOptions(f, f.tokenizer)) };
    const model = await loadModel(f.model, f.tokenizer ? { tokenizer: f.tokenizer } : {});
    if (f.context >= model.config.maxSeqLen) {
      throw new BenchError('BAD_INPUT', `--context must be below the model's context of ${model.config.maxSeqLen}`);
    }
    const ctx = await createDevice(deviceOptions(f));
    const maxB = Math.max(...batches);
    const perSeq = Math.ceil((f.context + 1) / opts.kvBlockSize);
    const runner = await ModelRunner.create(ctx, model, {
      maxTokens: maxB,
      maxOut: maxB,
      maxSeqs: maxB,
      kvBlockSize: opts.kvBlockSize,
      numBlocks: maxB * perSeq,
      ...kernelToggles(opts),
    });
    for (let s = 0; s < maxB; s++) {
      runner.setBlockTable(
        s,
        Array.from({ length: perSeq }, (_, i) => s * perSeq + i),
      );
    }
    const timing = ctx.hasTimestamps ? 'timestamp queries' : 'one submit per dispatch (includes submit overhead)';
    const head = {
      model: model.info.name,
      adapter: ctx.adapterName,
      cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
      timing,
      dispatchesPerStep: runner.dispatchesPerStep,
      toggles: togglesInEffect(f, ctx),
    };
    if (!f.json) {
      process.stdout.write(`adapter: ${head.adapter}; CPU: ${head.cpu}; timing: ${timing}\n`);
      const t = head.toggles;
      const shown = [
        t.precision,
        `quant ${t.quant}`,
        `kv ${t.kvCache}`,
        `${t.attention} attention`,
        `fusion ${t.fusion}`,
      ];
      process.stdout.write(
        `${head.model} (${shown.join(', ')}, workgroup ${t.workgroupSize}), decode at position ${f.context}, ${head.dispatchesPerStep} dispatches/step\n\n`,
      );
    }
    const profiles: DecodeProfile[] = [];
    for (const b of batches) {
      const p = await profileDecode(runner, b, f.context);
      profiles.push(p);
      if (!f.json) printProfile(p);
    }
    if (f.json) process.stdout.write(`${JSON.stringify({ ...head, profiles })}\n`);
    runner.destroy();
  });
}
