// Batch-1 decode benchmark: tok/s, bytes per token, GB/s, MBU and memory per model and weight format.
// Same procedure every run: a prompt of --prompt-tokens tokens, one warm-up generation, then --runs (default 3)
// timed generations of --tokens greedy tokens with EOS ignored, in rounds across the formats; the median is reported.
// A model's formats are all loaded at once (give fewer formats where they do not fit in GPU memory together).
//   npm run bench:decode                                   (preset:tiny and stories260K, f32)
//   npm run bench:decode -- --models preset:llama-7b --formats f16,int8,int4 --tokens 256 --prompt-tokens 128
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { createDevice } from '../engine/device/device.ts';
import { cachedProbe } from '../engine/device/probe.ts';
import { loadModel } from '../engine/model/load.ts';
import { WebGpuEngine } from '../engine/runtime/engine.ts';
import { decodeStats } from '../engine/runtime/stats.ts';
import type { GenerationResult } from '../engine/runtime/types.ts';
import { GREEDY } from '../engine/sampling/types.ts';
import { arg, formatToggles, kvCacheToggle, workgroupToggle } from './common.ts';

const SHARED = '../shared/models/stories260K';
const defaultModels = existsSync(SHARED) ? `preset:tiny,${SHARED}/stories260K.bin` : 'preset:tiny';
const models = arg('models', defaultModels).split(',');
const formats = arg('formats', 'f32').split(',');
const tokens = Number(arg('tokens', '128'));
const promptTokens = Number(arg('prompt-tokens', '16'));
// Timed generations per (model, format), the median reported: more on hosts whose speed wanders (odd, so the median
// is a run that happened).
const runCount = Number(arg('runs', '3'));
if (!Number.isInteger(runCount) || runCount < 1 || runCount % 2 === 0) {
  throw new Error(`--runs ${arg('runs', '3')}: give an odd number of runs, at least 1`);
}
const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
const probe = await cachedProbe(ctx);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) / 2]!;
const rows: string[][] = [];
for (const spec of models) {
  const model = await loadModel(spec, spec.endsWith('.bin') ? { tokenizer: `${SHARED}/tok512.bin` } : {});
  const promptIds = [model.tokenizer.bos, ...Array.from({ length: promptTokens - 1 }, (_, i) => 3 + ((i * 7) % 200))];
  // Every format's engine at once, timed in rounds (one generation of each per round): on a host whose speed wanders
  // from minute to minute, formats timed minutes apart compare that, not themselves. "vs" is the median over rounds
  // of each round's ratio to the first format.
  const engines: { format: string; engine: WebGpuEngine; loadS: number; runs: GenerationResult[] }[] = [];
  for (const format of formats) {
    const t0 = performance.now();
    const engine = await WebGpuEngine.create(ctx, model, {
      batch: 'none',
      maxNumTokens: 256,
      ...formatToggles(format),
      ...workgroupToggle(),
      ...kvCacheToggle(),
    });
    engines.push({ format, engine, loadS: (performance.now() - t0) / 1000, runs: [] });
  }
  const once = async (engine: WebGpuEngine, n: number): Promise<GenerationResult> => {
    const gen = engine.generate({ promptIds, maxTokens: n, sampling: GREEDY, ignoreEos: true });
    for (;;) {
      const r = await gen.next();
      if (r.done) return r.value;
    }
  };
  for (const e of engines) await once(e.engine, 16);
  for (let i = 0; i < runCount; i++) for (const e of engines) e.runs.push(await once(e.engine, tokens));
  const tokPerS = (r: GenerationResult) => r.stats.decodeTokPerS;
  for (const { format, engine, loadS, runs } of engines) {
    const mid = runs.find((r) => tokPerS(r) === median(runs.map(tokPerS)))!;
    const s = decodeStats(engine.runner, model.config, mid.stats, probe.copyGBps);
    const mem = s.memory.weightsBytes + s.memory.kvBytes + s.memory.scratchBytes;
    const vs = median(runs.map((r, i) => tokPerS(r) / tokPerS(engines[0]!.runs[i]!)));
    rows.push([
      model.info.name,
      format,
      s.decodeTokPerS.toFixed(1),
      `${vs.toFixed(2)}x`,
      runs.map((r) => tokPerS(r).toFixed(1)).join(' / '),
      (s.bytesPerToken / 1e6).toFixed(1),
      s.achievedGBps.toFixed(1),
      `${(s.mbu * 100).toFixed(1)}%`,
      (mem / 2 ** 30).toFixed(2),
      s.prefillMs.toFixed(0),
      String(s.dispatchesPerStep),
      loadS.toFixed(0),
    ]);
    process.stderr.write(`${model.info.name} ${format}: ${s.decodeTokPerS.toFixed(1)} tok/s\n`);
  }
  for (const e of engines) await e.engine.close();
}

console.log(
  `adapter: ${ctx.adapterName}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; copy bandwidth ${probe.copyGBps.toFixed(1)} GB/s (reads + writes)`,
);
console.log(
  `batch 1, ${promptTokens}-token prompt, ${tokens} greedy tokens, median of ${runCount}, KV cache ${kvCacheToggle().kvCache ?? 'f32'}\n`,
);
const head = [
  'model',
  'weights',
  'tok/s',
  `vs ${formats[0]}`,
  'runs (in round order)',
  'MB/token',
  'GB/s',
  'MBU',
  'GPU mem GiB',
  'prefill ms',
  'dispatches/step',
  'load s',
];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
