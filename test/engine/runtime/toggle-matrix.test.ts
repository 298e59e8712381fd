// The toggle matrix on lavapipe (issue 5): every combination agrees with the f32 CPU reference.
// - Exact: with f32 weights and an f32 KV cache, greedy tokens equal the CPU reference's for every attention kernel,
//   fusion setting, workgroup size and batch mode (4 prompts at once in continuous mode).
// - Within bounds: for every weight format x KV-cache format x attention kernel, the NLL over a real story changes
//   by at most the format's bound plus the cache's against f32 (stories260K; bounds as in eval.test.ts: f16/bf16 1%,
//   int8 3%, int4-g32 15%; KV cache f16 1%, int8 3%), and greedy agreement with the CPU reference is printed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import type { AttentionKind } from '../../../engine/ops/attention.ts';
import type { KvCacheFormat } from '../../../engine/ops/kv-cache.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { WebGpuEngine } from '../../../engine/runtime/engine.ts';
import { type EngineOptions, weightFormatOf } from '../../../engine/runtime/engine-options.ts';
import type { GenerationResult } from '../../../engine/runtime/types.ts';
import { GREEDY } from '../../../engine/sampling/types.ts';
import { gpu } from '../../helpers/gpu.ts';
import { gpuNll } from '../../helpers/nll.ts';

const SHARED = '../shared/models/stories260K';
const noShared = !existsSync(SHARED) && `${SHARED} not found`;
const TOKENS = 24;

async function generateAll(engine: WebGpuEngine, prompts: number[][]): Promise<number[][]> {
  const one = async (promptIds: number[]) => {
    const gen = engine.generate({ promptIds, maxTokens: TOKENS, sampling: GREEDY, ignoreEos: true });
    for (;;) {
      const r = await gen.next();
      if (r.done) return (r.value as GenerationResult).tokenIds;
    }
  };
  return Promise.all(prompts.map(one));
}

test('f32: greedy tokens equal the CPU reference for every attention x fusion x workgroup size x batch mode', async () => {
  const model = await loadModel('preset:tiny');
  const prompts = ['Once upon a time', 'The cat', 'A long road ahead of us', 'x'].map((p) =>
    model.tokenizer.encode(p, { bos: true }),
  );
  const want = prompts.map((p) => new CpuReference(model).greedy(p, TOKENS));
  const ctx = await gpu();
  let combos = 0;
  for (const attention of ['naive', 'flash'] as const) {
    for (const fusion of ['off', 'on'] as const) {
      for (const workgroupSize of [64, 256]) {
        for (const batch of ['none', 'continuous'] as const) {
          const engine = await WebGpuEngine.create(ctx, model, {
            attention,
            fusion,
            workgroupSize,
            batch,
            maxBatch: 4,
          });
          const got = await generateAll(engine, prompts);
          await engine.close();
          assert.deepEqual(got, want, `attention ${attention}, fusion ${fusion}, workgroup ${workgroupSize}, ${batch}`);
          combos++;
        }
      }
    }
  }
  assert.equal(combos, 16);
});

interface Combo {
  format: string;
  options: Partial<EngineOptions>;
  bound: number;
}

const WEIGHTS: Combo[] = [
  { format: 'f32', options: {}, bound: 0 },
  { format: 'f16', options: { precision: 'f16' }, bound: 0.01 },
  { format: 'bf16', options: { precision: 'bf16' }, bound: 0.01 },
  { format: 'int8', options: { quant: 'int8' }, bound: 0.03 },
  { format: 'int4-g32', options: { quant: 'int4', groupSize: 32 }, bound: 0.15 },
];
const KV: [KvCacheFormat, number][] = [
  ['f32', 0],
  ['f16', 0.01],
  ['int8', 0.03],
];

async function nll(
  model: LoadedModel,
  ids: number[],
  o: Partial<EngineOptions>,
  attention: AttentionKind,
  kvCache: KvCacheFormat,
) {
  const weightFormat = weightFormatOf({ precision: 'f32', quant: 'none', groupSize: 64, symmetric: true, ...o });
  return (await gpuNll(model, ids, { weightFormat, attention, kvCache })).nll;
}

test('every weight format x KV-cache format x attention kernel stays within its NLL bound (stories260K)', {
  skip: noShared,
}, async () => {
  const model = await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  const ids = model.tokenizer.encode(readFileSync('test/fixtures/story.txt', 'utf8')).slice(0, 400);
  const base = await nll(model, ids, {}, 'flash', 'f32');
  const lines: string[] = [];
  for (const w of WEIGHTS) {
    for (const [kvCache, kvBound] of KV) {
      for (const attention of ['naive', 'flash'] as const) {
        const x = await nll(model, ids, w.options, attention, kvCache);
        const change = Math.abs(x - base) / base;
        lines.push(`${w.format} kv ${kvCache} ${attention}: NLL ${x.toFixed(4)} (${(change * 100).toFixed(2)}%)`);
        assert.ok(
          change <= w.bound + kvBound + 1e-6,
          `${lines.at(-1)} exceeds ${((w.bound + kvBound) * 100).toFixed(0)}%`,
        );
      }
    }
  }
  process.stdout.write(`# f32 NLL ${base.toFixed(4)}\n# ${lines.join('\n# ')}\n`);
});
