// Batch-1 decode benchmark: tok/s, bytes per token, GB/s, MBU and memory per model and weight format.
// Same procedure every run: a prompt of --prompt-tokens tokens, one warm-up generation, then 3 timed generations of
// --tokens greedy tokens with EOS ignored; the median is reported.
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
import { arg, formatToggles, workgroupToggle } from './common.ts';

const SHARED = '../shared/models/stories260K';
const defaultModels = existsSync(SHARED) ? `preset:tiny,${SHARED}/stories260K.bin` : 'preset:tiny';
const models = arg('models', defaultModels).split(',');
const formats = arg('formats', 'f32').split(',');
const tokens = Number(arg('tokens', '128'));
const promptTokens = Number(arg('prompt-tokens', '16'));
const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
const probe = await cachedProbe(ctx);

const rows: string[][] = [];
for (const spec of models) {
  const model = await loadModel(spec, spec.endsWith('.bin') ? { tokenizer: `${SHARED}/tok512.bin` } : {});
  const promptIds = [model.tokenizer.bos, ...Array.from({ length: promptTokens - 1 }, (_, i) => 3 + ((i * 7) % 200))];
  for (const format of formats) {
    const t0 = performance.now();
    const engine = await WebGpuEngine.create(ctx, model, {
      batch: 'none',
      maxNumTokens: 256,
      ...formatToggles(format),
      ...workgroupToggle(),
    });
    const loadS = (performance.now() - t0) / 1000;
    const once = async (n: number): Promise<GenerationResult> => {
      const gen = engine.generate({ promptIds, maxTokens: n, sampling: GREEDY, ignoreEos: true });
      for (;;) {
        const r = await gen.next();
        if (r.done) return r.value;
      }
    };
    await once(16);
    const runs: GenerationResult[] = [];
    for (let i = 0; i < 3; i++) runs.push(await once(tokens));
    runs.sort((a, b) => a.stats.decodeTokPerS - b.stats.decodeTokPerS);
    const s = decodeStats(engine.runner, model.config, runs[1]!.stats, probe.copyGBps);
    const mem = s.memory.weightsBytes + s.memory.kvBytes + s.memory.scratchBytes;
    rows.push([
      model.info.name,
      format,
      s.decodeTokPerS.toFixed(1),
      runs.map((r) => r.stats.decodeTokPerS.toFixed(1)).join(' / '),
      (s.bytesPerToken / 1e6).toFixed(1),
      s.achievedGBps.toFixed(1),
      `${(s.mbu * 100).toFixed(1)}%`,
      (mem / 2 ** 30).toFixed(2),
      s.prefillMs.toFixed(0),
      String(s.dispatchesPerStep),
      loadS.toFixed(0),
    ]);
    process.stderr.write(`${model.info.name} ${format}: ${s.decodeTokPerS.toFixed(1)} tok/s\n`);
    await engine.close();
  }
}

console.log(
  `adapter: ${ctx.adapterName}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; copy bandwidth ${probe.copyGBps.toFixed(1)} GB/s (reads + writes)`,
);
console.log(`batch 1, ${promptTokens}-token prompt, ${tokens} greedy tokens, median of 3\n`);
const head = [
  'model',
  'weights',
  'tok/s',
  'runs',
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
