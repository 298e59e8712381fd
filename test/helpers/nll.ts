// NLL of a token sequence on the GPU through a fresh runner (bench eval's path): for the quality tests.
import type { LoadedModel } from '../../engine/model/weights.ts';
import type { EvalResult } from '../../engine/runtime/eval.ts';
import { evaluateNll } from '../../engine/runtime/eval.ts';
import { ModelRunner, type RunnerOptions } from '../../engine/runtime/model-runner.ts';
import { gpu } from './gpu.ts';

/** One window of the model's context, steps of 128 tokens; `options` picks the toggles (default f32, flash, ...). */
export async function gpuNll(
  model: LoadedModel,
  ids: number[],
  options: Partial<Pick<RunnerOptions, 'weightFormat' | 'attention' | 'kvCache' | 'fusion'>> = {},
): Promise<EvalResult> {
  const runner = await ModelRunner.create(await gpu(), model, {
    maxTokens: 128,
    maxOut: 128,
    maxSeqs: 1,
    kvBlockSize: 16,
    numBlocks: Math.ceil(model.config.maxSeqLen / 16),
    workgroupSize: 128,
    ...options,
  });
  const r = await evaluateNll(runner, ids, model.config.maxSeqLen - 1);
  runner.destroy();
  return r;
}
