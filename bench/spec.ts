// Speculative decoding benchmark at concurrency 1: decode tok/s for each method and depth against depth 0, the
// measured acceptance, and the mean tokens per verification step against the formula (1 - a^(k+1)) / (1 - a).
// Same procedure every run: one warm-up generation, then 3 timed generations of 128 greedy tokens (EOS ignored)
// from the same prompt; the median tok/s is reported.
//   npm run bench:spec [-- --model preset:tiny --draft preset:tiny-draft --exit-layer 1 --depths 1,2,4,8]
import { cpus } from 'node:os';
import { createDevice } from '../engine/device/device.ts';
import { loadModel } from '../engine/model/load.ts';
import { type EngineOptions, WebGpuEngine } from '../engine/runtime/engine.ts';
import type { GenerationResult } from '../engine/runtime/types.ts';
import { GREEDY } from '../engine/sampling/types.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const tokenizer = process.argv.includes('--tokenizer') ? { tokenizer: arg('tokenizer', '') } : {};
const target = await loadModel(arg('model', 'preset:tiny'), tokenizer);
const draftModel = await loadModel(arg('draft', 'preset:tiny-draft'), tokenizer);
const exitLayer = Number(arg('exit-layer', '1'));
const depths = arg('depths', '1,2,4,8').split(',').map(Number);
const tokens = Number(arg('tokens', '128'));
const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
const promptIds = target.tokenizer.encode(arg('prompt', 'Once upon a time'));

async function measure(opts: Partial<EngineOptions>) {
  const engine = await WebGpuEngine.create(ctx, target, { batch: 'none', ...opts });
  const once = async (n: number): Promise<GenerationResult> => {
    const gen = engine.generate({ promptIds, maxTokens: n, sampling: GREEDY, ignoreEos: true });
    for (;;) {
      const r = await gen.next();
      if (r.done) return r.value;
    }
  };
  await once(16);
  const before = engine.metrics().spec;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push((await once(tokens)).stats.decodeTokPerS);
  const after = engine.metrics().spec;
  await engine.close();
  runs.sort((a, b) => a - b);
  if (!before || !after) return { tokPerS: runs[1]! };
  const d = (k: 'proposedTotal' | 'acceptedTotal' | 'stepsTotal' | 'rejectionsTotal') => after[k] - before[k];
  const steps = d('stepsTotal');
  const accepted = d('acceptedTotal');
  // Per-token acceptance a: the chance a draft is kept given the ones before it were (kept / tried).
  const a = accepted / (accepted + d('rejectionsTotal'));
  const proposedHist = after.proposedHistogram.map((n, k) => n - (before.proposedHistogram[k] ?? 0));
  const formula = (k: number) => (a >= 1 ? k + 1 : (1 - a ** (k + 1)) / (1 - a));
  const predicted = proposedHist.reduce((s, n, k) => s + n * formula(k), 0) / steps;
  return {
    tokPerS: runs[1]!,
    acceptance: accepted / d('proposedTotal'),
    a,
    measuredLen: (accepted + steps) / steps,
    predictedLen: predicted,
  };
}

const base = await measure({});
const rows: string[][] = [];
let best = { name: 'none', speedup: 1 };
for (const spec of ['ngram', 'layerskip', 'draft'] as const) {
  for (const specDepth of depths) {
    const r = await measure({ spec, specDepth, exitLayer, draftModel });
    const speedup = r.tokPerS / base.tokPerS;
    if (speedup > best.speedup) best = { name: `${spec} depth ${specDepth}`, speedup };
    const err = r.predictedLen ? Math.abs(r.measuredLen! - r.predictedLen) / r.predictedLen : 0;
    rows.push([
      spec,
      String(specDepth),
      r.tokPerS.toFixed(1),
      `${speedup.toFixed(2)}x`,
      `${((r.acceptance ?? 0) * 100).toFixed(1)}%`,
      (r.a ?? 0).toFixed(3),
      (r.measuredLen ?? 0).toFixed(2),
      (r.predictedLen ?? 0).toFixed(2),
      `${(err * 100).toFixed(1)}%`,
    ]);
    process.stderr.write(`${spec} ${specDepth}: ${r.tokPerS.toFixed(1)} tok/s\n`);
  }
}

console.log(
  `target ${target.info.name}; draft ${draftModel.info.name}; layer-skip exit ${exitLayer}; adapter ${ctx.adapterName}`,
);
console.log(
  `CPU ${cpus()[0]?.model ?? '?'} x${cpus().length}; batch none, concurrency 1, ${tokens} greedy tokens, median of 3`,
);
console.log(`depth 0 (no speculation): ${base.tokPerS.toFixed(1)} tok/s\n`);
const head = ['method', 'depth', 'tok/s', 'speedup', 'accepted', 'a', 'tokens/step', 'formula', 'formula error'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nbest: ${best.name}, ${best.speedup.toFixed(2)}x over depth 0`);
process.exit(0);
