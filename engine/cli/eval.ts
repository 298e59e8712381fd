// `bench eval`: negative log-likelihood per token and perplexity of a text, to see what a toggle costs in quality.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createDevice } from '../device/device.ts';
import { BenchError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { DEFAULT_ENGINE_OPTIONS, kernelToggles } from '../runtime/engine-options.ts';
import { evaluateNll } from '../runtime/eval.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import { intArg } from './options.ts';
import { addToggleOptions, deviceOptions, engineOptions, type ToggleFlags, togglesInEffect } from './toggles.ts';

interface EvalFlags extends ToggleFlags {
  model: string;
  tokenizer?: string;
  text: string;
  window?: number;
  json?: boolean;
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('negative log-likelihood per token and perplexity of a text')
    .requiredOption('--model <m>', 'checkpoint file, model folder, or preset:NAME')
    .option('--tokenizer <file>', 'tokenizer file; default: found beside the model')
    .requiredOption('--text <file>', 'UTF-8 text to score (- for stdin)')
    .option('--window <n>', 'context window in tokens (default: the model context)', intArg('--window', 2))
    .option('--json', 'print {"tokens", "nll", "ppl", ...}');
  addToggleOptions(cmd).action(async (f: EvalFlags) => {
    let text: string;
    try {
      text = readFileSync(f.text === '-' ? 0 : f.text, 'utf8');
    } catch (e) {
      throw new BenchError('FILE_NOT_FOUND', `cannot read --text ${f.text}: ${(e as Error).message}`);
    }
    const opts = { ...DEFAULT_ENGINE_OPTIONS, ...(await engineOptions(f, f.tokenizer)) };
    const model = await loadModel(f.model, f.tokenizer ? { tokenizer: f.tokenizer } : {});
    const ids = model.tokenizer.encode(text);
    const window = Math.min(f.window ?? model.config.maxSeqLen, model.config.maxSeqLen - 1);
    const ctx = await createDevice(deviceOptions(f));
    const chunk = Math.min(window, 256);
    const runner = await ModelRunner.create(ctx, model, {
      maxTokens: chunk,
      maxOut: chunk,
      maxSeqs: 1,
      kvBlockSize: opts.kvBlockSize,
      numBlocks: Math.ceil(model.config.maxSeqLen / opts.kvBlockSize),
      ...kernelToggles(opts),
    });
    const r = await evaluateNll(runner, ids, window);
    const out = { ...r, model: model.info.name, adapter: ctx.adapterName, toggles: togglesInEffect(f, ctx) };
    if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(
        `${model.info.name}: ${r.tokens} tokens in ${r.windows} window(s) of ${window}: NLL ${r.nll.toFixed(4)} nats/token, perplexity ${r.ppl.toFixed(3)}\n`,
      );
    }
    runner.destroy();
  });
}
