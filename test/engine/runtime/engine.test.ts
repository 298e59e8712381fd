// The engine end to end on lavapipe: greedy decodes equal the CPU reference, sampling is reproducible,
// stop strings and max tokens end generation, cancelling frees KV blocks, and the batch modes agree.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { WebGpuEngine } from '../../../engine/runtime/engine.ts';
import type { GenerationRequest, GenerationResult } from '../../../engine/runtime/types.ts';
import { GREEDY } from '../../../engine/sampling/types.ts';
import { gpu } from '../../helpers/gpu.ts';
import { randomModel } from '../../helpers/random-model.ts';

const SHARED = '../shared/models/stories260K';
const noShared = !existsSync(SHARED) && `${SHARED} not found`;

async function run(engine: WebGpuEngine, req: GenerationRequest, signal?: AbortSignal): Promise<GenerationResult> {
  const gen = engine.generate(req, signal);
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

function cpuGreedy(model: LoadedModel, prompt: number[], n: number): number[] {
  return new CpuReference(model).greedy(prompt, n);
}

test('llama2xs greedy decode equals the CPU reference for 100 tokens', { skip: noShared }, async () => {
  const model = await loadModel(`${SHARED}/llama2xs-tok512-model.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none' });
  const prompt = model.tokenizer.encode('Once upon a time', { bos: true });
  const res = await run(engine, { promptIds: prompt, maxTokens: 100, sampling: GREEDY, ignoreEos: true });
  assert.deepEqual(res.tokenIds, cpuGreedy(model, prompt, 100));
  assert.equal(res.finishReason, 'length');
  await engine.close();
});

test('greedy decode of a random GQA model equals the CPU reference, prompt prefilled in chunks', async () => {
  const model = randomModel({ maxSeqLen: 96 }, 11);
  const prompt = [1, ...Array.from({ length: 30 }, (_, i) => 3 + ((i * 37) % 250))];
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none', prefillChunk: 7, kvBlockSize: 4 });
  const res = await run(engine, { promptIds: prompt, maxTokens: 40, sampling: GREEDY, ignoreEos: true });
  assert.deepEqual(res.tokenIds, cpuGreedy(model, prompt, 40));
  await engine.close();
});

test('sampling with a seed is reproducible; a different seed differs', async () => {
  const model = randomModel({}, 12);
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none' });
  const req = (seed: number): GenerationRequest => ({
    promptIds: [1, 50, 60],
    maxTokens: 30,
    sampling: { temperature: 1.5, topK: 0, topP: 1, seed },
    ignoreEos: true,
  });
  const a = await run(engine, req(1));
  const b = await run(engine, req(1));
  const c = await run(engine, req(2));
  assert.deepEqual(a.tokenIds, b.tokenIds);
  assert.notDeepEqual(a.tokenIds, c.tokenIds);
  await engine.close();
});

test('stop strings end generation before the stop text; max tokens ends with length', { skip: noShared }, async () => {
  const model = await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'none' });
  const prompt = model.tokenizer.encode('', { bos: true });
  // The golden story's first sentence is "Once upon a time, there was a little girl named Lily."
  const stopped = await run(engine, { promptIds: prompt, maxTokens: 100, sampling: GREEDY, stop: ['little girl'] });
  assert.equal(stopped.text, 'Once upon a time, there was a ');
  assert.equal(stopped.finishReason, 'stop');
  const short = await run(engine, { promptIds: prompt, maxTokens: 5, sampling: GREEDY });
  assert.equal(short.tokenIds.length, 5);
  assert.equal(short.finishReason, 'length');
  await engine.close();
});

test('cancelling a running generation frees its KV blocks', async () => {
  const model = randomModel({ maxSeqLen: 64 }, 13);
  const engine = await WebGpuEngine.create(await gpu(), model, { batch: 'continuous', maxBatch: 4, kvBlockSize: 4 });
  const ac = new AbortController();
  const gen = engine.generate({ promptIds: [1, 2, 3], maxTokens: 50, sampling: GREEDY, ignoreEos: true }, ac.signal);
  await gen.next();
  await gen.next();
  assert.ok(engine.metrics().kvBlocksUsed > 0);
  ac.abort();
  let r = await gen.next();
  while (!r.done) r = await gen.next();
  assert.equal(r.value.finishReason, 'cancelled');
  assert.equal(engine.metrics().kvBlocksUsed, 0);
  await engine.close();
});

test('none, static and continuous batching give every request the tokens it gets alone', async () => {
  const model = randomModel({ maxSeqLen: 64 }, 14);
  const prompts = Array.from({ length: 6 }, (_, i) => [
    1,
    ...Array.from({ length: 2 + i * 3 }, (_, j) => 3 + ((i * 31 + j * 7) % 250)),
  ]);
  const lengths = [5, 12, 3, 9, 7, 11];
  const alone = prompts.map((p, i) => cpuGreedy(model, p, lengths[i]!));
  for (const batch of ['none', 'static', 'continuous'] as const) {
    // Few blocks: continuous batching has to preempt and recompute, which must not change any token.
    const engine = await WebGpuEngine.create(await gpu(), model, { batch, maxBatch: 4, kvBlockSize: 4, kvBlocks: 16 });
    const results = await Promise.all(
      prompts.map((p, i) => run(engine, { promptIds: p, maxTokens: lengths[i]!, sampling: GREEDY, ignoreEos: true })),
    );
    for (const [i, r] of results.entries()) assert.deepEqual(r.tokenIds, alone[i], `${batch}: request ${i}`);
    assert.equal(engine.metrics().kvBlocksUsed, 0, `${batch}: blocks returned`);
    if (batch === 'continuous') assert.ok(engine.metrics().preemptionsTotal > 0, 'the small KV pool forced preemption');
    await engine.close();
  }
});
