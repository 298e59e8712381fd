// Decoding ahead (engine/runtime/decode-ahead.ts): greedy decode steps are submitted before the previous step's
// tokens are read back, fed on the GPU. The tokens must be exactly those of the CPU reference however sequences
// grow blocks, end by length or stop mid-chain; sampled decodes must never be fed (their tokens come from the CPU).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { AHEAD_STEPS } from '../../../engine/runtime/decode-ahead.ts';
import { WebGpuEngine } from '../../../engine/runtime/engine.ts';
import type { GenerationRequest, GenerationResult } from '../../../engine/runtime/types.ts';
import { GREEDY } from '../../../engine/sampling/types.ts';
import { gpu } from '../../helpers/gpu.ts';
import { randomModel } from '../../helpers/random-model.ts';

async function run(engine: WebGpuEngine, req: GenerationRequest): Promise<GenerationResult> {
  const gen = engine.generate(req);
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

/** Counts the runner's steps, how many of them were fed from the step before, and the most in flight at once. */
function countSteps(engine: WebGpuEngine): { all: number; fed: number; maxInFlight: number } {
  const n = { all: 0, fed: 0, maxInFlight: 0 };
  let inFlight = 0;
  const run = engine.runner.run.bind(engine.runner);
  engine.runner.run = (input, options) => {
    n.all++;
    if (options?.feedTokens) n.fed++;
    n.maxInFlight = Math.max(n.maxInFlight, ++inFlight);
    return run(input, options).finally(() => inFlight--);
  };
  return n;
}

const greedy = (model: LoadedModel, prompt: number[], n: number) => new CpuReference(model).greedy(prompt, n);

test('decoding ahead: three sequences of different lengths equal the CPU reference, blocks grown mid-chain', async () => {
  const model = randomModel({ maxSeqLen: 96 }, 21);
  // Blocks of 4 positions: a chained step often needs a block the scheduler has not given the sequence yet.
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'continuous', kvBlockSize: 4 });
  const steps = countSteps(engine);
  const prompts = [
    [1, 40, 41],
    [1, 7, 99, 120, 3],
    [1, 200],
  ];
  const lengths = [10, 23, 40];
  const results = await Promise.all(
    prompts.map((promptIds, i) =>
      run(engine, { promptIds, maxTokens: lengths[i]!, sampling: GREEDY, ignoreEos: true }),
    ),
  );
  results.forEach((r, i) => {
    assert.deepEqual(r.tokenIds, greedy(model, prompts[i]!, lengths[i]!), `sequence ${i}`);
    assert.equal(r.finishReason, 'length');
  });
  assert.ok(steps.fed > steps.all / 2, `fed ${steps.fed} of ${steps.all} steps`);
  assert.equal(steps.maxInFlight, AHEAD_STEPS + 1, 'the running step and the steps submitted behind it');
  await engine.close();
});

test('decoding ahead: a sequence stopping mid-chain leaves the other exact; sampled decodes are never fed', async () => {
  const model = await loadModel('preset:tiny');
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'continuous' });
  const a = [1, 72, 101, 108];
  const b = [1, 200, 17];
  const solo = await run(engine, { promptIds: a, maxTokens: 30, sampling: GREEDY, ignoreEos: true });
  // A stop string that ends `a` after a handful of tokens, which the engine can only see after reading them back.
  const stop = solo.text.slice(6, 9);
  assert.ok(stop.length === 3 && solo.text.indexOf(stop) === 6, `stop string from "${solo.text}"`);
  const steps = countSteps(engine);
  const [ra, rb] = await Promise.all([
    run(engine, { promptIds: a, maxTokens: 30, sampling: GREEDY, ignoreEos: true, stop: [stop] }),
    run(engine, { promptIds: b, maxTokens: 30, sampling: GREEDY, ignoreEos: true }),
  ]);
  assert.equal(ra.finishReason, 'stop');
  assert.equal(ra.text, solo.text.slice(0, 6));
  assert.deepEqual(ra.tokenIds, solo.tokenIds.slice(0, ra.tokenIds.length));
  assert.deepEqual(rb.tokenIds, greedy(model, b, 30));
  assert.ok(steps.fed > 0, 'some steps were fed');

  const sampled = countSteps(engine);
  const sampling = { temperature: 0.8, topK: 0, topP: 1, seed: 3 };
  const r = await run(engine, { promptIds: b, maxTokens: 12, sampling, ignoreEos: true });
  assert.equal(r.tokenIds.length, 12);
  assert.equal(sampled.fed, 0, 'a sampled decode was fed from the GPU argmax');
  await engine.close();
});

test('--decode-ahead off: no step is fed, the tokens are the same', async () => {
  const model = randomModel({ maxSeqLen: 64 }, 22);
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none', decodeAhead: 'off' });
  const steps = countSteps(engine);
  const r = await run(engine, { promptIds: [1, 9, 33], maxTokens: 20, sampling: GREEDY, ignoreEos: true });
  assert.deepEqual(r.tokenIds, greedy(model, [1, 9, 33], 20));
  assert.equal(steps.fed, 0);
  assert.equal(steps.maxInFlight, 1);
  await engine.close();
});

test('decoding ahead submits no step past a length limit (max tokens, the model context)', async () => {
  const model = randomModel({ maxSeqLen: 64 }, 23);
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none' });
  for (const [maxTokens, want] of [
    [20, 20], // one prefill step (which samples the first token) and 19 decodes
    [100, 61], // the context ends it: 3 prompt + 61 tokens fill the 64 positions
  ] as const) {
    const steps = countSteps(engine);
    const r = await run(engine, { promptIds: [1, 9, 33], maxTokens, sampling: GREEDY, ignoreEos: true });
    assert.equal(r.tokenIds.length, want);
    assert.deepEqual(r.tokenIds, greedy(model, [1, 9, 33], want));
    assert.ok(steps.fed > 0, 'steps were fed');
    assert.equal(steps.all, want, `steps for ${want} tokens`);
  }
  await engine.close();
});
