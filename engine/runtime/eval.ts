// Quality, measured: negative log-likelihood of a text under the model, every position scored. The text is cut
// into context windows; each window is prefilled in as few steps as the runner's sizes allow, with the logits of
// every position read back, so the whole evaluation is a handful of batched passes.
import { BenchError } from '../errors.ts';
import type { ModelRunner } from './model-runner.ts';

export interface EvalResult {
  tokens: number; // positions scored (every token after the first of each window)
  nll: number; // mean negative log-likelihood per token, nats
  ppl: number; // exp(nll)
  windows: number;
}

export async function evaluateNll(runner: ModelRunner, ids: readonly number[], window: number): Promise<EvalResult> {
  if (ids.length < 2) throw new BenchError('BAD_INPUT', 'the text is too short to score: it needs at least 2 tokens');
  const V = runner.config.vocabSize;
  const chunk = Math.min(runner.options.maxTokens, runner.options.maxOut);
  const blocks = Array.from({ length: runner.maxBlocksPerSeq }, (_, i) => i);
  runner.setBlockTable(0, blocks);
  let sum = 0;
  let count = 0;
  let windows = 0;
  for (let w0 = 0; w0 < ids.length - 1; w0 += window) {
    const win = ids.slice(w0, Math.min(ids.length, w0 + window + 1)); // +1: the last position predicts the next
    windows++;
    for (let c0 = 0; c0 < win.length - 1; c0 += chunk) {
      const n = Math.min(chunk, win.length - 1 - c0);
      const positions = Array.from({ length: n }, (_, i) => c0 + i);
      const logits = await runner.step({
        tokens: positions.map((p) => win[p]!),
        positions,
        slots: positions.map(() => 0),
        outRows: positions.map((_, i) => i),
      });
      for (let i = 0; i < n; i++) {
        sum += nllOf(logits.subarray(i * V, (i + 1) * V), win[c0 + i + 1]!);
        count++;
      }
    }
  }
  const nll = sum / count;
  return { tokens: count, nll, ppl: Math.exp(nll), windows };
}

/** -log softmax(logits)[target], computed stably in f64. */
export function nllOf(logits: Float32Array, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) if (v > max) max = v;
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  return Math.log(z) + max - logits[target]!;
}
