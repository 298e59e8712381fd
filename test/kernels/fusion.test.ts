// The kernels --fusion on runs, against the CPU reference ops: every linear kernel with the SWIGLU epilogue (rows of
// w1 and w3 interleaved, y = silu(x w1^T) * (x w3^T)), and rope_kv reading q, k, v from the fused QKV linear's rows.
// Outputs are poisoned, so a value a kernel forgets to store fails. Bounds as the unfused kernels' tests: relative
// error <= 1e-5 for the linears (f32 accumulation vs f64), 1e-4 for rope (f32 trigonometry).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { floatToHalf, halfToFloat } from '../../engine/formats/quant.ts';
import { fuseRows } from '../../engine/ops/fusion.ts';
import { tiledLaunch } from '../../engine/ops/tiled-launch.ts';
import {
  getWeightFormat,
  linearGrid,
  linearLaunch,
  type PackedWeight,
  type WeightFormat,
  type WeightFormatOptions,
} from '../../engine/ops/weight-formats.ts';
import { matmul, rope, swiglu } from '../../engine/reference/ops.ts';
import { buffer, counts, dispatch, gpu, randoms, readF32, relError } from '../helpers/gpu.ts';
import { ropeKv } from '../helpers/rope-kv.ts';

const FORMATS: [string, WeightFormatOptions][] = [
  ['f32', {}],
  ['f16', {}],
  ['bf16', {}],
  ['int8', {}],
  ['int4', { groupSize: 32, symmetric: true }],
  ['int4', { groupSize: 32, symmetric: false }],
];

// [WG, LANES, ROWS]: a thread per row pair as on CPUs (f32: kernels/matmul_rows.wgsl, 8 rows an invocation), and
// lane groups as on GPUs with 4 and 2 rows a thread (f32: kernels/matmul.wgsl, a pair in two adjacent row groups).
const LAYOUTS = [
  [64, 1, 2],
  [64, 32, 4],
  [128, 8, 2],
] as const;

let seed = 500;
/**
 * y [T, H] against the reference: x times the dequantized gate and up rows (even and odd rows of the fused matrix),
 * then silu(gate) * up. On matrix units (`mma`) x is rounded to f16 first, and int4 and bf16 weights to f16 too:
 * hence that tolerance.
 */
async function checkSwiglu(
  format: WeightFormat,
  packed: PackedWeight,
  x: Float32Array,
  y: GPUBuffer,
  T: number,
  H: number,
  K: number,
  mma = false,
): Promise<void> {
  const w = format.dequantize(packed);
  const xIn = mma ? x.map((v) => halfToFloat(floatToHalf(v))) : x;
  const half = (odd: number) =>
    Float32Array.from({ length: H * K }, (_, i) => w[(2 * Math.floor(i / K) + odd) * K + (i % K)]!);
  const want = swiglu(matmul(xIn, half(0), T, H, K), matmul(xIn, half(1), T, H, K));
  const got = await readF32(await gpu(), y, T * H);
  assert.ok(relError(got, want) <= (mma ? 2e-3 : 1e-5), `relative error ${relError(got, want)}`);
}

for (const [name, options] of FORMATS) {
  const format = getWeightFormat(name, options);
  const multiRow = format.multiRow !== false;
  for (const [WG, LANES, ROWS] of LAYOUTS) {
    // H = 37 pairs leaves a partial workgroup; T = 9 two token tiles, the second partial. K = 173 leaves an odd tail
    // in every packing and, f32 on CPUs, runs matmul.wgsl with a row per thread instead of matmul_rows.
    for (const [T, K] of [
      [1, 173],
      [9, 172],
    ] as const) {
      const rows = multiRow ? ROWS : 1;
      seed += 10;
      const s = seed;
      const H = 37;
      test(`${format.name} SWIGLU epilogue T=${T} K=${K} WG=${WG} LANES=${LANES} ROWS=${rows}`, async () => {
        const ctx = await gpu();
        const d = ctx.device;
        const x = randoms(T * K, s, 2);
        const w1 = randoms(H * K, s + 1, 0.7);
        const w3 = randoms(H * K, s + 2, 0.7).map((v, i) => v + (i % 3) * 0.1);
        const packed = format.pack(fuseRows([w1, w3], K, true), 2 * H, K);
        const launch = linearLaunch(format, {
          rows: 2 * H,
          cols: K,
          workgroupSize: WG,
          lanes: LANES,
          rowsPerThread: rows,
          swiglu: true,
        });
        const y = buffer(d, T * H);
        const byBinding = {
          x: buffer(d, x),
          weights: buffer(d, packed.words),
          y,
          counts: counts(d, T),
          scales: packed.scales ? buffer(d, packed.scales) : undefined,
          norm: buffer(d, new Float32Array(4)), // bound, not read (no folded norm)
        };
        const grid = linearGrid(2 * H, T, launch.rowsPerWorkgroup);
        await dispatch(
          ctx,
          launch.kernel,
          launch.constants,
          format.bindings.map((b) => byBinding[b]!),
          grid,
        );
        await checkSwiglu(format, packed, x, y, T, H, K);
      });
    }
  }
}

// The tiled kernel's epilogue (steps of 16+ tokens on GPUs), whole and with K split in 3 (the combine pass applies
// it): T = 40 two token blocks, 2 H = 74 rows two row blocks, K = 173 five 32-value steps; and on matrix units where
// the adapter has them (kernels/matmul_mma.wgsl: one token block, two row blocks, three 64-value steps).
const ctx0 = await gpu();
for (const [name, options] of FORMATS.filter(([n]) => n !== 'f32')) {
  const format = getWeightFormat(name, options);
  for (const [splits, mma] of [
    [1, false],
    [3, false],
    [1, true],
    [3, true],
  ] as const) {
    const skip = mma && !ctx0.subgroupMatrix ? 'adapter has no 16x16x16 f16 subgroup-matrix configuration' : false;
    const kernel = mma ? 'matrix units' : 'tiled kernel';
    test(`${format.name} SWIGLU epilogue, ${kernel}, ${splits} K parts`, { skip }, async () => {
      const ctx = await gpu();
      const d = ctx.device;
      const [T, K, H] = [40, 173, 37];
      const x = randoms(T * K, 91, 2);
      const w1 = randoms(H * K, 92, 0.7);
      const w3 = randoms(H * K, 93, 0.7).map((v, i) => v + (i % 3) * 0.1);
      const packed = format.pack(fuseRows([w1, w3], K, true), 2 * H, K);
      const launch = tiledLaunch(format, { rows: 2 * H, cols: K, swiglu: true }, splits, T, mma);
      const y = buffer(d, T * H);
      const cnt = counts(d, T);
      const part = buffer(d, splits * T * 2 * H);
      const by = {
        x: buffer(d, x),
        weights: buffer(d, packed.words),
        y,
        counts: cnt,
        scales: undefined,
        norm: undefined,
      };
      const buffers = format.bindings.map((b) => (b === 'scales' && packed.scales ? buffer(d, packed.scales) : by[b]));
      buffers[6] = part;
      const grid = linearGrid(2 * H, T, launch.rowsPerWorkgroup, launch.tokensPerWorkgroup, launch.splits);
      await dispatch(ctx, launch.kernel, launch.constants, buffers, grid);
      if (splits > 1) {
        const combine = [undefined, undefined, y, cnt, undefined, undefined, part];
        await dispatch(ctx, launch.kernel, launch.constants, combine, [Math.ceil((T * 2 * H) / 128)], 'combine');
      }
      await checkSwiglu(format, packed, x, y, T, H, K, mma);
    });
  }
}

test('linearLaunch refuses a SWIGLU layout that splits a (gate, up) pair', () => {
  const base = { rows: 20, cols: 64, workgroupSize: 64, lanes: 32, swiglu: true };
  assert.throws(() => linearLaunch(getWeightFormat('f16'), { ...base, rowsPerThread: 3 }), /SwiGLU/);
  assert.throws(() => linearLaunch(getWeightFormat('f16'), { ...base, rows: 21, rowsPerThread: 2 }), /SwiGLU/);
  assert.throws(() => linearLaunch(getWeightFormat('f32'), { ...base, lanes: 64 }), /SwiGLU/); // one row group
  assert.throws(() => linearLaunch(getWeightFormat('int8'), { ...base, rowsPerThread: 2, accumulate: true }), /SwiGLU/);
});

const BLOCK = 4;
const MAX_BLOCKS = 8;

for (const layout of ['interleaved', 'half'] as const) {
  test(`rope_kv with QKV reads q, k, v from the fused rows (${layout} RoPE) and writes roped q apart`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const [H, KVH, HD, T] = [6, 2, 8, 5];
    const [qd, kvd] = [H * HD, KVH * HD];
    const positions = new Uint32Array([0, 1, 2, 9, 13]);
    const slots = new Uint32Array([0, 0, 0, 1, 1]);
    const table = new Uint32Array(2 * MAX_BLOCKS);
    table.set([5, 2, 7, 0], 0);
    table.set([1, 6, 3, 4], MAX_BLOCKS);
    const qkv = randoms(T * (qd + 2 * kvd), 31);
    const part = (from: number, width: number) =>
      Float32Array.from(
        { length: T * width },
        (_, i) => qkv[Math.floor(i / width) * (qd + 2 * kvd) + from + (i % width)]!,
      );
    const qkvBuf = buffer(d, qkv);
    const q = buffer(d, T * qd);
    const kc = buffer(d, 8 * BLOCK * kvd);
    const vc = buffer(d, 8 * BLOCK * kvd);
    await ropeKv(
      ctx,
      { heads: H, kvHeads: KVH, headDim: HD, layout, block: BLOCK, maxBlocks: MAX_BLOCKS, qkv: true },
      {
        q,
        k: qkvBuf,
        v: qkvBuf,
        kCache: kc,
        vCache: vc,
      },
      { positions, slots, blockTable: table },
      T,
    );
    const pos = [...positions];
    assert.ok(relError(await readF32(ctx, q, T * qd), rope(part(0, qd), H, HD, pos, 10000, layout)) <= 1e-4, 'q');
    const kRef = rope(part(qd, kvd), KVH, HD, pos, 10000, layout);
    const v = part(qd + kvd, kvd);
    const kGot = await readF32(ctx, kc, 8 * BLOCK * kvd);
    const vGot = await readF32(ctx, vc, 8 * BLOCK * kvd);
    assert.deepEqual(await readF32(ctx, qkvBuf, qkv.length), qkv, 'the fused rows are read, not written');
    for (let t = 0; t < T; t++) {
      const p = positions[t]!;
      const at = (table[slots[t]! * MAX_BLOCKS + Math.floor(p / BLOCK)]! * BLOCK + (p % BLOCK)) * kvd;
      assert.ok(relError(kGot.subarray(at, at + kvd), kRef.subarray(t * kvd, (t + 1) * kvd)) <= 1e-4, `k of ${t}`);
      assert.deepEqual(vGot.subarray(at, at + kvd), v.subarray(t * kvd, (t + 1) * kvd), `v of token ${t}`);
    }
  });
}
