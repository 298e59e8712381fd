// Batch-1 decode benchmark: tok/s, bytes per token, GB/s and MBU for the embedded default and (when present)
// stories260K. Same procedure every run: one warm-up generation, then 3 timed generations of 128 tokens from the
// same prompt with EOS ignored; the median is reported.   npm run bench:decode [-- --adapter NAME]
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { createDevice } from '../engine/device/device.ts';
import { cachedProbe } from '../engine/device/probe.ts';
import { loadModel } from '../engine/model/load.ts';
import { WebGpuEngine } from '../engine/runtime/engine.ts';
import { decodeStats } from '../engine/runtime/stats.ts';
import type { GenerationResult } from '../engine/runtime/types.ts';
import { GREEDY } from '../engine/sampling/types.ts';

const SHARED = '../shared/models/stories260K';
const adapterFlag = process.argv.indexOf('--adapter');
const ctx = await createDevice(adapterFlag > 0 ? { adapter: process.argv[adapterFlag + 1]! } : {});
const probe = await cachedProbe(ctx);
const models: [string, string | undefined][] = [['preset:tiny', undefined]];
if (existsSync(SHARED)) models.push([`${SHARED}/stories260K.bin`, `${SHARED}/tok512.bin`]);
else console.log(`(${SHARED} not found: stories260K skipped)`);

const rows: string[][] = [];
for (const [spec, tokenizer] of models) {
  const model = await loadModel(spec, tokenizer ? { tokenizer } : {});
  const engine = await WebGpuEngine.create(ctx, model, { batch: 'none' });
  const promptIds = model.tokenizer.encode('Once upon a time', { bos: true });
  const once = async (n: number): Promise<GenerationResult> => {
    const gen = engine.generate({ promptIds, maxTokens: n, sampling: GREEDY, ignoreEos: true });
    for (;;) {
      const r = await gen.next();
      if (r.done) return r.value;
    }
  };
  await once(16);
  const runs: GenerationResult[] = [];
  for (let i = 0; i < 3; i++) runs.push(await once(128));
  runs.sort((a, b) => a.stats.decodeTokPerS - b.stats.decodeTokPerS);
  const s = decodeStats(engine.runner, model.config, runs[1]!.stats, probe.copyGBps);
  rows.push([
    model.info.name,
    (s.memory.weightsBytes / 1e6).toFixed(2),
    s.decodeTokPerS.toFixed(1),
    runs.map((r) => r.stats.decodeTokPerS.toFixed(1)).join(' / '),
    (s.bytesPerToken / 1e6).toFixed(3),
    s.achievedGBps.toFixed(3),
    `${(s.mbu * 100).toFixed(2)}%`,
    String(s.dispatchesPerStep),
  ]);
  await engine.close();
}

console.log(
  `adapter: ${ctx.adapterName}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; copy bandwidth ${probe.copyGBps.toFixed(2)} GB/s`,
);
const head = [
  'model',
  'weights MB',
  'decode tok/s (median)',
  'runs (min / med / max)',
  'MB read/token',
  'GB/s',
  'MBU',
  'dispatches/step',
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
process.exit(0);
