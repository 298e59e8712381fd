// Linear-layer kernel sweep: GPU time of one y = W x for each weight format, layer shape, token count and launch
// parameter set (workgroup size, lanes per row, rows per thread, unrolled chunks), so the engine's launch choice
// (engine/ops/weight-formats.ts, defaultLinearParams) rests on measurements. Same procedure every run: weights filled
// with random words (the timing does not depend on values), enough copies that they do not fit in the GPU's L2 cache,
// per configuration 0.2 s of warm-up (1 s the first; GPUs clock down when idle), then the median of 5 passes of 20
// dispatches each, timed with pass timestamps.
//   node --import tsx bench/linear.ts --shapes 2048x8192,16384x2048 --formats f16,int8 --tokens 1,32
import { createDevice } from '../engine/device/device.ts';
import { kernelSource } from '../engine/device/kernels.ts';
import { packedRowWords } from '../engine/ops/f16.ts';
import { tiledLaunch } from '../engine/ops/tiled-launch.ts';
import { getWeightFormat, linearGrid, linearLaunch } from '../engine/ops/weight-formats.ts';
import { bindGroup, storageBuffer } from '../engine/runtime/gpu-buffers.ts';
import { arg, formatToggles } from './common.ts';

const shapes = arg('shapes', '2048x2048,3072x2048,16384x2048,2048x8192')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);
const formats = arg('formats', 'f16').split(',');
const tokenCounts = arg('tokens', '1').split(',').map(Number);
const params = arg(
  'params',
  '128:32:4:2,256:32:4:2,256:32:2:2,256:32:1:2,256:32:1:4,128:32:1:4,256:64:1:2,256:16:2:2,128:16:1:4',
)
  .split(',')
  .map((p) => p.split(':').map(Number) as [number, number, number, number]); // WG:LANES:ROWS:UNROLL
const variants = arg('variants', 'base').split(',');
// --norm: the layer's input RMSNorm folded in (as the engine's wqkv and w13), its weight read from x's buffer.
const withNorm = process.argv.includes('--norm');
const L2_BYTES = 100 << 20; // more than any current GPU's L2 (H100 50 MB)
const REPS = 20;

const ctx = await createDevice();
const d = ctx.device;
if (!ctx.hasTimestamps) throw new Error('this benchmark needs timestamp queries');

function randomBuffer(label: string, bytes: number): GPUBuffer {
  const b = storageBuffer(d, label, bytes);
  const block = new Uint32Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (Math.random() * 2 ** 32) >>> 0;
  for (let o = 0; o < b.size; o += block.byteLength)
    d.queue.writeBuffer(b, o, block, 0, Math.min(block.length, (b.size - o) / 4));
  return b;
}

async function timePasses(encode: (pass: GPUComputePassEncoder) => void, passes: number): Promise<number[]> {
  const qs = d.createQuerySet({ type: 'timestamp', count: 2 * passes });
  const resolved = d.createBuffer({ size: 16 * passes, usage: 0x0200 | 0x0004 });
  const staging = d.createBuffer({ size: 16 * passes, usage: 0x0001 | 0x0008 });
  const enc = d.createCommandEncoder();
  for (let p = 0; p < passes; p++) {
    const pass = enc.beginComputePass({
      timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * p, endOfPassWriteIndex: 2 * p + 1 },
    });
    encode(pass);
    pass.end();
  }
  enc.resolveQuerySet(qs, 0, 2 * passes, resolved, 0);
  enc.copyBufferToBuffer(resolved, 0, staging, 0, 16 * passes);
  d.queue.submit([enc.finish()]);
  await staging.mapAsync(1);
  const ns = new BigUint64Array(staging.getMappedRange().slice(0));
  staging.unmap();
  for (const b of [resolved, staging]) b.destroy();
  qs.destroy();
  return Array.from({ length: passes }, (_, p) => Number(ns[2 * p + 1]! - ns[2 * p]!) / 1e6);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const counts = storageBuffer(d, 'counts', 16);
const noSplits = storageBuffer(d, 'part', 16);
const lines: string[] = [];
let warmed = false;
for (const name of formats) {
  const t = formatToggles(name);
  const format = getWeightFormat(t.quant ?? t.precision ?? 'f32', t.groupSize ? { groupSize: t.groupSize } : {});
  const bits = { f32: 32, f16: 16, bf16: 16, int8: 8 }[name] ?? 4;
  for (const [rows, cols] of shapes) {
    const bytes = format.bytesPerMatvec(rows, cols);
    const weightWords = bits === 32 ? rows * cols : rows * packedRowWords(cols, bits);
    const copies = Math.max(2, Math.ceil(L2_BYTES / bytes));
    const ws = Array.from({ length: copies }, (_, i) => randomBuffer(`w${i}`, weightWords * 4));
    const scales = scaleBytes(format.name, rows, cols) > 0 ? randomScales(rows, cols, format.name) : undefined;
    const maxT = Math.max(...tokenCounts);
    const x = randomFloats(maxT * cols);
    const y = storageBuffer(d, 'y', maxT * rows * 4);
    for (const T of tokenCounts) {
      d.queue.writeBuffer(counts, 0, new Uint32Array([T, T, 0, 0]));
      const results: string[] = [];
      for (const [pi, [WG, lanes, rowsPerThread, unroll]] of params.entries()) {
        for (const variant of variants) {
          if (format.multiRow === false && rowsPerThread !== 1) continue;
          if (variant.includes('sg') && lanes !== 32) continue;
          // tiled: kernels/matmul_tiled.wgsl, mma: kernels/matmul_mma.wgsl (matrix units), which have their own
          // thread layouts (run once, with the first params).
          const tiled = variant === 'tiled' || variant.startsWith('mma');
          if (tiled && (format.multiRow === false || pi > 0)) continue;
          if (variant.startsWith('mma') && !ctx.subgroupMatrix) throw new Error('mma: the adapter has no matrix units');
          if (variant.startsWith('dot') && !format.intDot) continue; // integer dot products: int8, int4 only
          const launch = tiled
            ? tiledLaunch(format, { rows, cols }, 1, 1, variant.startsWith('mma'))
            : linearLaunch(format, {
                rows,
                cols,
                workgroupSize: WG,
                lanes,
                rowsPerThread,
                unroll,
                intDot: variant.startsWith('dot'),
                subgroupReduce: variant.startsWith('dotsr'),
                ...(withNorm ? { norm: { eps: 1e-5 } } : {}),
              });
          const pipeline = variantPipeline(launch.kernel, launch.constants, variant);
          const byBinding: Record<string, GPUBuffer | undefined> = {
            x,
            y,
            counts,
            scales,
            norm: withNorm ? x : counts,
          };
          const binds = ws.map((w) =>
            bindGroup(
              d,
              pipeline,
              Object.assign(
                format.bindings.map((b) => (b === 'weights' ? w : b === 'norm' && tiled ? undefined : byBinding[b])),
                tiled ? { 6: noSplits } : {}, // partial sums of K splits: none here (SPLITS 1), bound as the layout asks
              ),
            ),
          );
          const [gx, gy, gz] = linearGrid(rows, T, launch.rowsPerWorkgroup, launch.tokensPerWorkgroup);
          const encode = (pass: GPUComputePassEncoder) => {
            pass.setPipeline(pipeline);
            for (let i = 0; i < REPS; i++) {
              pass.setBindGroup(0, binds[i % binds.length]!);
              pass.dispatchWorkgroups(gx, gy, gz);
            }
          };
          // Warm-up before every configuration, not only the first: the weights of the next shape are filled from
          // the CPU in between, the GPU idles and clocks down, and the same kernel measured 3-4x slower cold.
          const t0 = performance.now();
          while (performance.now() - t0 < (warmed ? 200 : 1000)) await timePasses(encode, 5);
          warmed = true;
          const us = (median(await timePasses(encode, 5)) / REPS) * 1000;
          const gbps = bytes / (us * 1e3);
          results.push(
            `${variant} ${WG}:${lanes}:${rowsPerThread}:${unroll} ${us.toFixed(1)}us ${gbps.toFixed(0)}GB/s`,
          );
        }
      }
      const line = `${name} ${rows}x${cols} T=${T}: ${results.join(' | ')}`;
      console.log(line);
      lines.push(line);
    }
    for (const w of ws) w.destroy();
    scales?.destroy();
    x.destroy();
    y.destroy();
  }
}

// Kernel variants, applied to the source or constants: tiled (the engine's kernel for steps of many tokens; mma: on
// matrix units, --subgroup-matrix), dot
// (kernels/matmul_dot.wgsl, --int-dot on), nostage (x from global memory), noprefetch (the first weight loads after
// x is staged, not before), nostream (dot only: no weight loads or products, so what is left is each workgroup's
// fixed cost: quantizing x, the reductions, the stores), dotsr (dot with the lane sums reduced through subgroup
// shuffles: kernels/matmul_reduce_sg.wgsl), exact (register
// arrays sized to ROWS and UNROLL, not their maxima), sg (row sums reduced with subgroupAdd; lanes must be 32).
function variantPipeline(kernel: string, constants: Record<string, number>, variant: string): GPUComputePipeline {
  let src = kernelSource(kernel);
  const c = { ...constants };
  if (variant.includes('nostage')) c.STAGE_X = 0;
  if (variant.includes('noprefetch')) c.PREFETCH = 0;
  const xs = /xs(\d+)/.exec(variant); // dot-xs4096: x staged 4096 floats a slice
  if (xs) c.XS = Number(xs[1]);
  if (variant.includes('nostream')) {
    const loop = 'if (n0 < N) {\n      for (var c1';
    if (!src.includes(loop)) throw new Error('nostream variant: the weight loop was not found');
    src = src.replace(loop, 'if (n0 < 0u) {\n      for (var c1');
  }
  // Parts of the integer-dot kernel's fixed cost left out (wrong results; timing only): noquant (x not quantized,
  // only touched so its bindings stay), noreduce (each thread stores its own sums: no reduction over lanes, no norm).
  if (variant.includes('noquant')) {
    const call = 'let ss = quantize_token(t, lid);';
    if (!src.includes(call)) throw new Error('noquant variant: the quantize call was not found');
    src = src.replace(call, 'let ss = x_at(t, lid) * norm_w[0]; workgroupBarrier();');
  }
  if (variant.includes('noreduce')) {
    const parts: [string, string][] = [
      ['inv_rms = rms_scale(ss, lid);', 'inv_rms = ss;'],
      [
        'finish_rows(t, n0, lid, acc);',
        'for (var r = 0u; r < ROWS; r++) { if (n0 + r < N) { store(t, n0 + r, acc[r], acc[r]); } }',
      ],
    ];
    for (const [from, to] of parts) {
      if (!src.includes(from)) throw new Error(`noreduce variant: '${from}' not found`);
      src = src.replace(from, to);
    }
  }
  // mma-nomma: staging only, no matrix loads or products; mma-noload: no staging, products of whatever workgroup
  // memory holds; mma-rowmajor: the right matrix loaded row-major (wrong results: only the load's speed).
  const edits: Record<string, [string, string][]> = {
    'mma-nomma': [['for (var kk = 0u; kk < KC;', 'for (var kk = 0u; kk < 0u;']],
    'mma-noload': [
      ['for (var j = 0u; j < WPT; j++)', 'for (var j = 0u; j < 0u; j++)'],
      ['for (var j = 0u; j < XPT; j++)', 'for (var j = 0u; j < 0u; j++)'],
    ],
    'mma-rowmajor': [['subgroupMatrixLoad<Right, col_major>', 'subgroupMatrixLoad<Right, row_major>']],
  };
  for (const [from, to] of edits[variant] ?? []) {
    if (!src.includes(from)) throw new Error(`${variant} variant: '${from}' not found`);
    src = src.replaceAll(from, to);
  }
  if (variant.includes('exact')) {
    src = src
      .replace('const MAX_ROWS: u32 = 4u;', `const MAX_ROWS: u32 = ${c.ROWS}u;`)
      .replace('const MAX_UNROLL: u32 = 4u;', `const MAX_UNROLL: u32 = ${c.UNROLL}u;`);
  }
  if (variant.includes('sg')) {
    const start = src.indexOf('      for (var r = 0u; r < ROWS; r++) { partial[r * WG + lid] = acc[r]; }');
    const endMark = 'workgroupBarrier(); // the next token overwrites partial';
    const end = src.indexOf(endMark) + endMark.length;
    if (start < 0 || end < endMark.length) throw new Error('sg variant: reduction block not found');
    const sg = `for (var r = 0u; r < ROWS; r++) { acc[r] = subgroupAdd(acc[r]); }
      if (lane == 0u) { for (var r = 0u; r < ROWS; r++) { if (n0 + r < N) { store(t, n0 + r, acc[r], acc[r - r % 2u]); } } }`;
    src = `enable subgroups;\n${src.slice(0, start)}${sg}${src.slice(end)}`;
  }
  const module = d.createShaderModule({ code: src });
  return d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: c } });
}

function scaleBytes(format: string, rows: number, cols: number): number {
  if (format === 'int8') return rows * 4;
  const m = /^int4-g(\d+)(-asym)?$/.exec(format);
  if (!m) return 0;
  return rows * Math.ceil(cols / Number(m[1])) * 4 * (m[2] ? 2 : 1);
}

function randomScales(rows: number, cols: number, format: string): GPUBuffer {
  const n = scaleBytes(format, rows, cols) / 4;
  const b = storageBuffer(d, 'scales', n * 4);
  d.queue.writeBuffer(
    b,
    0,
    Float32Array.from({ length: n }, () => Math.random() * 0.01),
  );
  return b;
}

function randomFloats(n: number): GPUBuffer {
  const b = storageBuffer(d, 'x', n * 4);
  d.queue.writeBuffer(
    b,
    0,
    Float32Array.from({ length: n }, () => Math.random() - 0.5),
  );
  return b;
}
console.log(`adapter: ${ctx.adapterName}; WG:LANES:ROWS:UNROLL time per dispatch, GB/s of weights`);
process.exit(0);
