// Batched decode throughput: C sequences generated at once with continuous batching, straight through the engine
// (no HTTP), for each concurrency C. Same procedure every run: a warm-up round at every C (16 tokens; each level
// has step shapes of its own, whose first run pays one-off costs: a C = 1 round warmed up only at C = 128 took
// 0.12 s to its first token, 0.04 s warmed), then per C one round of C requests, each a --prompt-tokens prompt
// (distinct per request) and --tokens greedy tokens with EOS ignored. Aggregate output tok/s = C * tokens / wall
// time of the round (prefill included), and the ratio to C = 1.
//   node --import tsx bench/throughput.ts [--model preset:llama-1b] [--format f16] [--concurrency 1,8,32,128]
//     [--tokens 256] [--prompt-tokens 128] [--subgroup-matrix auto|on|off] [--kv-cache f32|f16|int8]
import { cpus } from 'node:os';
import { createDevice } from '../engine/device/device.ts';
import { loadModel } from '../engine/model/load.ts';
import { subgroupMatrixInEffect } from '../engine/ops/subgroup-matrix.ts';
import { WebGpuEngine } from '../engine/runtime/engine.ts';
import type { GenerationResult } from '../engine/runtime/types.ts';
import { GREEDY } from '../engine/sampling/types.ts';
import { arg, formatToggles, kvCacheToggle, subgroupMatrixToggle, workgroupToggle } from './common.ts';

const spec = arg('model', 'preset:tiny');
const format = arg('format', 'f32');
const levels = arg('concurrency', '1,8,32').split(',').map(Number);
const tokens = Number(arg('tokens', '128'));
const promptTokens = Number(arg('prompt-tokens', '32'));
const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
const model = await loadModel(spec);
const maxC = Math.max(...levels);
const engine = await WebGpuEngine.create(ctx, model, {
  batch: 'continuous',
  maxBatch: maxC,
  // Room for every sequence's whole context, so no run is slowed by preemption.
  kvBudgetBytes:
    2 * maxC * (promptTokens + tokens + 32) * model.config.nLayers * model.config.nKvHeads * model.config.headDim * 4,
  ...formatToggles(format),
  ...workgroupToggle(),
  ...subgroupMatrixToggle(),
  ...kvCacheToggle(),
});

const vocab = model.config.vocabSize;
const prompt = (i: number) => [
  model.tokenizer.bos,
  ...Array.from({ length: promptTokens - 1 }, (_, j) => 3 + ((i * 131 + j * 7) % (vocab - 3))),
];

interface Round {
  seconds: number;
  generated: number;
  prefilledS: number; // until the last sequence's first token: the prompts' prefill (decodes of others alongside)
  steps: number;
  stepMs: number; // mean engine step (engine metrics)
}

async function round(c: number, n: number): Promise<Round> {
  const m0 = engine.metrics();
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: c }, async (_, i): Promise<GenerationResult> => {
      const gen = engine.generate({ promptIds: prompt(i), maxTokens: n, sampling: GREEDY, ignoreEos: true });
      for (;;) {
        const r = await gen.next();
        if (r.done) return r.value;
      }
    }),
  );
  const m1 = engine.metrics();
  const steps = m1.stepsTotal - m0.stepsTotal;
  return {
    seconds: (performance.now() - t0) / 1000,
    generated: results.reduce((s, r) => s + r.tokenIds.length, 0),
    prefilledS: Math.max(...results.map((r) => r.stats.queueMs + r.stats.prefillMs)) / 1000,
    steps,
    stepMs: (m1.stepMsTotal - m0.stepMsTotal) / steps,
  };
}

for (const c of levels) await round(c, 16);
const rows: (Round & { c: number; tokPerS: number })[] = [];
for (const c of levels) {
  const r = await round(c, tokens);
  rows.push({ ...r, c, tokPerS: r.generated / r.seconds });
  process.stderr.write(`C=${c}: ${(r.generated / r.seconds).toFixed(1)} tok/s\n`);
}
await engine.close();

const base = rows.find((r) => r.c === 1)?.tokPerS;
console.log(`adapter: ${ctx.adapterName}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
console.log(
  `${model.info.name}, ${format}, continuous batching, ${promptTokens}-token prompts, ${tokens} greedy tokens each, subgroup matrix ${subgroupMatrixInEffect(subgroupMatrixToggle().subgroupMatrix ?? 'auto', ctx, format !== 'f32')}, KV cache ${kvCacheToggle().kvCache ?? 'f32'}\n`,
);
console.log(
  '| concurrent sequences | output tok/s | vs 1 | round s | prompts prefilled by s | steps | ms/step |\n| --- | --- | --- | --- | --- | --- | --- |',
);
for (const r of rows) {
  const ratio = base ? `${(r.tokPerS / base).toFixed(2)}x` : '-';
  console.log(
    `| ${r.c} | ${r.tokPerS.toFixed(1)} | ${ratio} | ${r.seconds.toFixed(2)} | ${r.prefilledS.toFixed(2)} | ${r.steps} | ${r.stepMs.toFixed(2)} |`,
  );
}
process.exit(0);
