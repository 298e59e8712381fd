// Batch-1 decode benchmark: tok/s, bytes per token, GB/s, MBU and memory per model and weight format.
// Same procedure every run: a prompt of --prompt-tokens tokens, one warm-up generation, then --runs (default 3)
// timed generations of --tokens greedy tokens with EOS ignored; the median is reported. Each format runs in a process
// of its own (this script again, with --json), one after another, as a deployment runs one engine: on an H100,
// llama-7b int4 next to an f16 engine in one process decoded 347-375 tok/s, alone 385-388 (docs/benchmarks.md,
// session 13). --rounds loads a model's formats in one process and times them in alternating rounds instead, for
// hosts whose speed wanders from minute to minute (then all must fit in GPU memory together).
//   npm run bench:decode                                   (preset:tiny and stories260K, f32)
//   npm run bench:decode -- --models preset:llama-7b --formats f16,int8,int4 --tokens 256 --prompt-tokens 128
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
// A full garbage collection once the engines are loaded, before the warm-up: loading leaves GBs of host-side weight
// arrays behind, and on an H100 the major GC that freed them (85 ms, --trace-gc) fell in the first timed llama-7b
// int4 run, 337 tok/s against 387 for the rest. A server pays that once after loading, not once per request.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) / 2]!;

interface Row {
  spec: string; // as given in --models
  model: string;
  format: string;
  runs: number[]; // tok/s of each timed generation, in order
  vsRounds?: number; // --rounds: the median over rounds of each round's ratio to the first format
  mbPerToken: number;
  gbps: number;
  mbu: number;
  memGiB: number;
  prefillMs: number;
  dispatches: number;
  loadS: number;
}
interface Measured {
  rows: Row[];
  adapter: string;
  copyGBps: number;
}

/** Every model in formats `these`, measured in this process (several formats: timed in alternating rounds). */
async function measure(these: string[]): Promise<Measured> {
  const ctx = await createDevice(process.argv.includes('--adapter') ? { adapter: arg('adapter', '') } : {});
  const probe = await cachedProbe(ctx);
  const rows: Row[] = [];
  for (const spec of models) {
    const model = await loadModel(spec, spec.endsWith('.bin') ? { tokenizer: `${SHARED}/tok512.bin` } : {});
    const promptIds = [model.tokenizer.bos, ...Array.from({ length: promptTokens - 1 }, (_, i) => 3 + ((i * 7) % 200))];
    const engines: { format: string; engine: WebGpuEngine; loadS: number; runs: GenerationResult[] }[] = [];
    for (const format of these) {
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
    collectGarbage();
    for (const e of engines) await once(e.engine, 16);
    for (let i = 0; i < runCount; i++) for (const e of engines) e.runs.push(await once(e.engine, tokens));
    const tokPerS = (r: GenerationResult) => r.stats.decodeTokPerS;
    for (const { format, engine, loadS, runs } of engines) {
      const mid = runs.find((r) => tokPerS(r) === median(runs.map(tokPerS)))!;
      const s = decodeStats(engine.runner, model.config, mid.stats, probe.copyGBps);
      const mem = s.memory.weightsBytes + s.memory.kvBytes + s.memory.scratchBytes;
      rows.push({
        spec,
        model: model.info.name,
        format,
        runs: runs.map(tokPerS),
        ...(these.length > 1
          ? { vsRounds: median(runs.map((r, i) => tokPerS(r) / tokPerS(engines[0]!.runs[i]!))) }
          : {}),
        mbPerToken: s.bytesPerToken / 1e6,
        gbps: s.achievedGBps,
        mbu: s.mbu,
        memGiB: mem / 2 ** 30,
        prefillMs: s.prefillMs,
        dispatches: s.dispatchesPerStep,
        loadS,
      });
      process.stderr.write(`${model.info.name} ${format}: ${s.decodeTokPerS.toFixed(1)} tok/s\n`);
    }
    for (const e of engines) await e.engine.close();
  }
  return { rows, adapter: ctx.adapterName, copyGBps: probe.copyGBps };
}

/** `format` measured by this script in a child process of its own (same flags, --formats format --json). */
function measureAlone(format: string): Measured {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--formats');
  const args = i >= 0 ? argv.map((a, j) => (j === i + 1 ? format : a)) : [...argv, '--formats', format];
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (child.status !== 0) throw new Error(`bench/decode.ts --formats ${format} failed (exit ${child.status})`);
  return JSON.parse(child.stdout) as Measured;
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(await measure(formats)));
  process.exit(0);
}
const alone = formats.length > 1 && !process.argv.includes('--rounds');
const parts = alone ? formats.map(measureAlone) : [await measure(formats)];
// A model's rows together, in --formats order.
const rows = parts
  .flatMap((p) => p.rows)
  .sort(
    (a, b) => models.indexOf(a.spec) - models.indexOf(b.spec) || formats.indexOf(a.format) - formats.indexOf(b.format),
  );
const tokPerS = (r: Row) => median(r.runs);
const vs = (r: Row) => r.vsRounds ?? tokPerS(r) / tokPerS(rows.find((f) => f.spec === r.spec)!);

console.log(
  `adapter: ${parts[0]!.adapter}; CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; copy bandwidth ${parts[0]!.copyGBps.toFixed(1)} GB/s (reads + writes)`,
);
const howRun = alone
  ? 'each format in a process of its own'
  : formats.length > 1
    ? 'formats in alternating rounds in one process'
    : 'one process';
console.log(
  `batch 1, ${promptTokens}-token prompt, ${tokens} greedy tokens, median of ${runCount}, KV cache ${kvCacheToggle().kvCache ?? 'f32'}, ${howRun}\n`,
);
const head = [
  'model',
  'weights',
  'tok/s',
  `vs ${formats[0]}`,
  alone ? 'runs' : 'runs (in round order)',
  'MB/token',
  'GB/s',
  'MBU',
  'GPU mem GiB',
  'prefill ms',
  'dispatches/step',
  'load s',
];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const r of rows) {
  const cells = [
    r.model,
    r.format,
    tokPerS(r).toFixed(1),
    `${vs(r).toFixed(2)}x`,
    r.runs.map((t) => t.toFixed(1)).join(' / '),
    r.mbPerToken.toFixed(1),
    r.gbps.toFixed(1),
    `${(r.mbu * 100).toFixed(1)}%`,
    r.memGiB.toFixed(2),
    r.prefillMs.toFixed(0),
    String(r.dispatches),
    r.loadS.toFixed(0),
  ];
  console.log(`| ${cells.join(' | ')} |`);
}
process.exit(0);
