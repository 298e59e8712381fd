// `bench generate`: one completion, streamed to the terminal, or one JSON object with the text, the token ids
// and measured stats.
import type { Command } from 'commander';
import { createDevice } from '../device/device.ts';
import { cachedProbe } from '../device/probe.ts';
import { badInput } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { WebGpuEngine } from '../runtime/engine.ts';
import { decodeStats } from '../runtime/stats.ts';
import type { GenerationResult } from '../runtime/types.ts';
import { intArg, numArg } from './options.ts';
import { addToggleOptions, deviceOptions, engineOptions, type ToggleFlags, togglesInEffect } from './toggles.ts';

interface GenerateFlags extends ToggleFlags {
  model: string;
  tokenizer?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed?: number;
  stop: string[];
  ignoreEos?: boolean;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate one completion')
    .requiredOption('--model <m>', 'checkpoint file, model folder, or preset:NAME')
    .option('--tokenizer <file>', 'tokenizer file (llama2.c tokenizer.bin); default: found beside the model')
    .option('--prompt <text>', 'prompt text (empty: BOS only)', '')
    .option('--max-tokens <n>', 'tokens to generate', intArg('--max-tokens', 1), 128)
    .option('--temperature <t>', '0 = greedy', numArg('--temperature', 0, 100), 0)
    .option('--top-p <p>', 'nucleus sampling mass', numArg('--top-p', 1e-9, 1), 1)
    .option('--top-k <k>', 'keep the k most likely tokens (0: off)', intArg('--top-k', 0), 0)
    .option('--seed <s>', 'random seed (reproducible sampling)', intArg('--seed', 0, 2 ** 32 - 1))
    .option('--stop <s...>', 'stop strings', [])
    .option('--ignore-eos', 'keep generating past end-of-sequence tokens')
    .option('--json', 'print one JSON object: text, promptTokenIds, tokenIds, stats');
  addToggleOptions(cmd, { batch: 'none' }).action(async (flags: GenerateFlags) => {
    await generate(flags);
  });
}

async function generate(f: GenerateFlags): Promise<void> {
  const opts = await engineOptions(f, f.tokenizer);
  const model = await loadModel(f.model, f.tokenizer ? { tokenizer: f.tokenizer } : {});
  // The tokenizer's own BOS setting: llama2.c and SentencePiece vocabularies add one, GPT-2-style ones don't.
  const promptIds = model.tokenizer.encode(f.prompt);
  if (promptIds.length >= model.config.maxSeqLen) {
    throw badInput(
      `the prompt is ${promptIds.length} tokens; ${model.info.name} has a context of ${model.config.maxSeqLen}`,
    );
  }
  const ctx = await createDevice(deviceOptions(f));
  const engine = await WebGpuEngine.create(ctx, model, opts);
  const gen = engine.generate({
    promptIds,
    maxTokens: f.maxTokens,
    sampling: {
      temperature: f.temperature,
      topP: f.topP,
      topK: f.topK,
      ...(f.seed !== undefined ? { seed: f.seed } : {}),
    },
    stop: f.stop,
    ignoreEos: f.ignoreEos ?? false,
  });
  let result: GenerationResult;
  for (;;) {
    const r = await gen.next();
    if (r.done) {
      result = r.value;
      break;
    }
    if (!f.json) process.stdout.write(r.value.text);
  }
  if (!f.json) {
    process.stdout.write('\n');
    await engine.close();
    return;
  }
  const probe = await cachedProbe(ctx);
  const stats = decodeStats(engine.runner, model.config, result.stats, probe.copyGBps);
  process.stdout.write(
    `${JSON.stringify({
      text: result.text,
      promptTokenIds: promptIds,
      tokenIds: result.tokenIds,
      finishReason: result.finishReason,
      stats: {
        ...stats,
        adapter: ctx.adapterName,
        model: model.info.name,
        synthetic: model.info.synthetic,
        toggles: togglesInEffect(f, ctx),
      },
    })}\n`,
  );
  await engine.close();
}
