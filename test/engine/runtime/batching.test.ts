// Issue acceptance: 32 concurrent greedy requests with different prompts and lengths give, in every batch mode,
// exactly the tokens the engine gives each prompt alone (tiny preset and stories260K).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { WebGpuEngine } from '../../../engine/runtime/engine.ts';
import type { GenerationRequest, GenerationResult } from '../../../engine/runtime/types.ts';
import { GREEDY } from '../../../engine/sampling/types.ts';
import { gpu } from '../../helpers/gpu.ts';

const SHARED = '../shared/models/stories260K';
const WORDS = ['Once', 'upon', 'a', 'time', 'there', 'was', 'a', 'little', 'dog', 'who', 'liked', 'to', 'run', 'fast'];

async function run(engine: WebGpuEngine, req: GenerationRequest): Promise<GenerationResult> {
  const gen = engine.generate(req);
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

function requests(model: LoadedModel): GenerationRequest[] {
  return Array.from({ length: 32 }, (_, i) => ({
    promptIds: model.tokenizer.encode(WORDS.slice(0, 1 + (i % WORDS.length)).join(' ') + (i >= 14 ? ` ${i}` : ''), {
      bos: true,
    }),
    maxTokens: 8 + ((i * 13) % 40),
    sampling: GREEDY,
    ignoreEos: true,
  }));
}

async function check(model: LoadedModel) {
  const reqs = requests(model);
  const alone: number[][] = [];
  const single = await WebGpuEngine.create(await gpu(), model, { batch: 'none' });
  for (const r of reqs) alone.push((await run(single, r)).tokenIds);
  await single.close();
  for (const batch of ['none', 'static', 'continuous'] as const) {
    const engine = await WebGpuEngine.create(await gpu(), model, {
      batch,
      maxBatch: 32,
      prefillChunk: batch === 'continuous' ? 16 : 0,
    });
    const results = await Promise.all(reqs.map((r) => run(engine, r)));
    for (const [i, r] of results.entries()) assert.deepEqual(r.tokenIds, alone[i], `${batch}: request ${i}`);
    assert.equal(engine.metrics().kvBlocksUsed, 0);
    await engine.close();
  }
}

test('32 concurrent requests: every batch mode equals each prompt alone (preset:tiny)', async () => {
  await check(await loadModel('preset:tiny', {}));
});

test('32 concurrent requests: every batch mode equals each prompt alone (stories260K)', {
  skip: !existsSync(SHARED) && `${SHARED} not found`,
}, async () => {
  await check(await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` }));
});
