// Every weight format's linear-layer kernel against the CPU dequantize-then-multiply reference (f64 accumulation), on
// fresh random inputs with poisoned outputs. Bound: f32 accumulation vs f64, relative error <= 1e-5.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { floatToHalf, halfToFloat } from '../../engine/formats/quant.ts';
import { tiledLaunch, tiledStepSplits, tiledWorkgroupSize } from '../../engine/ops/tiled-launch.ts';
import {
  getWeightFormat,
  type LinearShape,
  linearGrid,
  linearLaunch,
  type PackedWeight,
  type WeightFormat,
  type WeightFormatOptions,
} from '../../engine/ops/weight-formats.ts';
import { matmul } from '../../engine/reference/ops.ts';
import { buffer, counts, dispatch, gpu, randoms, readF32, relError } from '../helpers/gpu.ts';

const TOL = 1e-5;

const FORMATS: [string, WeightFormatOptions][] = [
  ['f32', {}],
  ['f16', {}],
  ['bf16', {}],
  ['int8', {}],
  ['int4', { groupSize: 32, symmetric: true }],
  ['int4', { groupSize: 32, symmetric: false }],
  ['int4', { groupSize: 64, symmetric: true }],
  ['int4', { groupSize: 64, symmetric: false }],
  ['int4', { groupSize: 128, symmetric: true }],
  ['int4', { groupSize: 128, symmetric: false }],
];

interface Case {
  T: number;
  K: number;
  N: number;
  WG: number;
  LANES: number;
  ROWS?: number;
  XS?: number; // floats of x staged per slice (small values force many slices)
  UNROLL?: number;
  acc?: boolean;
  outRows?: number; // USE_OUT_COUNT with counts.n_out = outRows
  tiled?: boolean; // kernels/matmul_tiled.wgsl (its own thread layout: WG, LANES, ROWS ignored)
  mma?: boolean; // tiled on matrix units: kernels/matmul_mma.wgsl (x rounded to f16)
  splits?: number; // tiled: parts of K, then the combine pass
  // tiled: TARGET_WORKGROUPS, and the splits this step then uses (fewer than `splits` once its blocks fill the target)
  target?: number;
  stepSplits?: number;
  seed: number;
}

/**
 * Packs random weights (or takes `packed` as given), runs the format's kernel, and returns the result with the
 * reference it must match.
 */
async function run(
  format: WeightFormat,
  c: Case,
  given?: PackedWeight,
): Promise<{ got: Float32Array; want: Float64Array }> {
  const ctx = await gpu();
  const d = ctx.device;
  const rows = c.outRows ?? c.T;
  const x = randoms(c.T * c.K, c.seed);
  // Offset weights, so asymmetric groups have a minimum that is not -max.
  const w = randoms(c.N * c.K, c.seed + 1, 0.7).map((v, i) => v + (i % 3) * 0.1);
  const y0 = randoms(c.T * c.N, c.seed + 2);
  const packed = given ?? format.pack(w, c.N, c.K);
  const shape: LinearShape = {
    rows: c.N,
    cols: c.K,
    workgroupSize: c.WG,
    lanes: c.LANES,
    rowsPerThread: c.ROWS ?? 1,
    ...(c.XS ? { xStage: c.XS } : {}),
    ...(c.UNROLL ? { unroll: c.UNROLL } : {}),
    accumulate: c.acc ?? false,
    useOutCount: c.outRows !== undefined,
  };
  const launch = c.tiled ? tiledLaunch(format, shape, c.splits ?? 1, c.T, c.mma) : linearLaunch(format, shape);
  const y = c.acc ? buffer(d, y0) : buffer(d, c.T * c.N);
  const byBinding = {
    x: buffer(d, x),
    weights: buffer(d, packed.words),
    y,
    counts: counts(d, c.T, c.outRows ?? 0),
    scales: packed.scales ? buffer(d, packed.scales) : undefined,
    norm: buffer(d, new Float32Array(4)), // bound, not read (no folded norm)
  };
  // The tiled kernel has no folded norm (binding 4), and partial sums of K splits at binding 6.
  const buffers = format.bindings.map((b) => (c.tiled && b === 'norm' ? undefined : byBinding[b]!));
  const part = c.tiled ? buffer(d, (c.splits ?? 1) * c.T * c.N) : undefined;
  if (part) buffers[6] = part;
  const stepSplits = c.stepSplits ?? launch.splits ?? 1;
  if (c.target) {
    assert.equal(
      tiledStepSplits(c.splits ?? 1, c.N, rows, c.mma, c.target),
      stepSplits,
      'the grid splits as the kernel',
    );
  }
  const constants = c.target ? { ...launch.constants, TARGET_WORKGROUPS: c.target } : launch.constants;
  const grid = linearGrid(c.N, c.T, launch.rowsPerWorkgroup, launch.tokensPerWorkgroup, stepSplits);
  await dispatch(ctx, launch.kernel, constants, buffers, grid);
  if (stepSplits > 1) {
    const combine = [undefined, undefined, y, byBinding.counts, undefined, undefined, part];
    await dispatch(
      ctx,
      launch.kernel,
      constants,
      combine,
      [Math.ceil((rows * c.N) / tiledWorkgroupSize(c.mma ?? false))],
      'combine',
    );
  }
  const got = await readF32(ctx, y, rows * c.N); // with USE_OUT_COUNT only the first `rows` rows are written
  for (const b of buffers) b?.destroy();
  // The matrix units multiply x rounded to f16 (weights too, which only int4 and bf16 round: the tolerance's part).
  const xIn = c.mma ? x.map((v) => halfToFloat(floatToHalf(v))) : x;
  const want = matmul(xIn, format.dequantize(packed), rows, c.N, c.K);
  if (c.acc) for (let i = 0; i < want.length; i++) want[i]! += y0[i]!;
  return { got, want };
}

let seed = 100;
for (const [name, options] of FORMATS) {
  const format = getWeightFormat(name, options);
  const multiRow = format.multiRow !== false;
  for (const T of [1, 9]) {
    for (const LANES of [1, 32]) {
      for (const acc of [false, true]) {
        // K = 172 is stories260K's hidden size; 173 leaves an odd tail in every packing. N = 37 leaves a partial
        // workgroup; rows per thread 3 leaves a partial thread.
        const c: Case = { T, K: acc ? 173 : 172, N: 37, WG: 64, LANES, ROWS: multiRow && T === 9 ? 3 : 1, acc, seed };
        seed += 10;
        test(`${format.name} T=${T} K=${c.K} LANES=${LANES} ROWS=${c.ROWS}${acc ? ' accumulate' : ''}`, async () => {
          const { got, want } = await run(format, c);
          assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
        });
      }
    }
  }
}

// Few lanes, a full MAX_ROWS, a big workgroup, long rows, each unroll depth (loads past a slice's end are discarded).
for (const name of ['f16', 'bf16', 'int8', 'int4'] as const) {
  for (const c of [
    { T: 9, K: 300, N: 50, WG: 128, LANES: 4, ROWS: 2, UNROLL: 1, seed: 7 },
    { T: 3, K: 1000, N: 21, WG: 256, LANES: 8, ROWS: 4, UNROLL: 4, seed: 8, acc: true },
    { T: 1, K: 700, N: 70, WG: 64, LANES: 16, ROWS: 4, UNROLL: 3, seed: 9 },
  ] satisfies Case[]) {
    const format = getWeightFormat(name);
    test(`${format.name} T=${c.T} K=${c.K} N=${c.N} WG=${c.WG} LANES=${c.LANES} ROWS=${c.ROWS} UNROLL=${c.UNROLL}`, async () => {
      const { got, want } = await run(format, c);
      assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
    });
  }
}

// The tiled kernel (steps of many tokens): partial row blocks (N not a multiple of 64), partial token blocks (T not a
// multiple of 32, and two blocks), K tails inside a chunk and past the last 32-value step, accumulation, out rows.
for (const [name, options] of FORMATS.filter(([n]) => n !== 'f32')) {
  const format = getWeightFormat(name, options);
  for (const c of [
    { T: 20, K: 172, N: 37, WG: 128, LANES: 1, seed: 11, tiled: true },
    { T: 40, K: 173, N: 70, WG: 128, LANES: 1, seed: 12, tiled: true, acc: true },
    { T: 37, K: 100, N: 130, WG: 128, LANES: 1, seed: 13, tiled: true, outRows: 19 },
    // K of 5 steps of 32 values in 3 parts (2, 2, 1 steps), and of 4 steps in 3 parts (2, 2, none), every format.
    { T: 20, K: 150, N: 70, WG: 128, LANES: 1, seed: 14, tiled: true, splits: 3, acc: true },
    { T: 33, K: 100, N: 37, WG: 128, LANES: 1, seed: 15, tiled: true, splits: 3, outRows: 21 },
    // A step whose blocks (2 row x 2 token blocks) fill a target of 4 (no split) or 8 (2 of the layer's 3) workgroups.
    { T: 40, K: 150, N: 70, WG: 128, LANES: 1, seed: 16, tiled: true, splits: 3, target: 4, stepSplits: 1, acc: true },
    { T: 40, K: 150, N: 70, WG: 128, LANES: 1, seed: 17, tiled: true, splits: 3, target: 8, stepSplits: 2 },
  ] satisfies Case[]) {
    const what = `${c.acc ? ' accumulate' : ''}${c.outRows ? ` ${c.outRows} out rows` : ''}${c.splits ? ` ${c.splits} K splits` : ''}${c.stepSplits ? ` (${c.stepSplits} this step)` : ''}`;
    test(`${format.name} tiled T=${c.T} K=${c.K} N=${c.N}${what}`, async () => {
      const { got, want } = await run(format, c);
      assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
    });
  }
}

// The tiled kernel on matrix units (--subgroup-matrix; GPUs that have them, e.g. NVIDIA's): the same edges with its
// blocks of 64 rows x 128 tokens (partial row and token blocks, two token blocks, results of tokens 64+ of a block
// finished after the first 64's, K tails inside a chunk and past the last 64-value step, splits with an empty part),
// accumulation, out rows and the SwiGLU pairs. Weights of int4 and bf16 and
// x are rounded to f16 (11 bits), hence the tolerance; a misplaced tile or a missed K step is off by O(1).
const MMA_TOL = 2e-3;
const mmaSkip = (await gpu()).subgroupMatrix
  ? false
  : 'adapter has no 16x16x16 f16 subgroup-matrix configuration (lavapipe has none)';
for (const [name, options] of FORMATS.filter(([n]) => n !== 'f32')) {
  const format = getWeightFormat(name, options);
  for (const c of [
    { T: 20, K: 172, N: 37, WG: 128, LANES: 1, seed: 31, tiled: true, mma: true },
    { T: 150, K: 173, N: 130, WG: 128, LANES: 1, seed: 32, tiled: true, mma: true, acc: true },
    { T: 37, K: 300, N: 70, WG: 128, LANES: 1, seed: 33, tiled: true, mma: true, outRows: 19 },
    { T: 20, K: 330, N: 70, WG: 128, LANES: 1, seed: 34, tiled: true, mma: true, splits: 3, acc: true },
    { T: 66, K: 200, N: 37, WG: 128, LANES: 1, seed: 35, tiled: true, mma: true, splits: 3, outRows: 65 },
    // 3 row x 2 token blocks (of 128) against a target of 6 (no split) and 12 (2 of 3).
    {
      T: 140,
      K: 330,
      N: 130,
      WG: 128,
      LANES: 1,
      seed: 36,
      tiled: true,
      mma: true,
      splits: 3,
      target: 6,
      stepSplits: 1,
    },
    {
      T: 140,
      K: 330,
      N: 130,
      WG: 128,
      LANES: 1,
      seed: 37,
      tiled: true,
      mma: true,
      splits: 3,
      target: 12,
      stepSplits: 2,
    },
  ] satisfies Case[]) {
    const what = `${c.acc ? ' accumulate' : ''}${c.outRows ? ` ${c.outRows} out rows` : ''}${c.splits ? ` ${c.splits} K splits` : ''}${c.stepSplits ? ` (${c.stepSplits} this step)` : ''}`;
    test(`${format.name} matrix units T=${c.T} K=${c.K} N=${c.N}${what}`, { skip: mmaSkip }, async () => {
      const { got, want } = await run(format, c);
      assert.ok(relError(got, want) <= MMA_TOL, `relative error ${relError(got, want)}`);
    });
  }
}

// f32 on a CPU (lanes 1, K a multiple of 4) runs kernels/matmul_rows.wgsl: 8 rows x 8 tokens per invocation, so
// these cover partial row blocks, three token tiles (the last partial), accumulation and the classifier's rows.
for (const c of [
  { T: 17, K: 96, N: 70, WG: 128, LANES: 1, acc: true, seed: 21 },
  { T: 5, K: 64, N: 130, WG: 64, LANES: 1, outRows: 3, seed: 22 },
  { T: 1, K: 8, N: 9, WG: 64, LANES: 1, acc: true, seed: 23 },
] satisfies Case[]) {
  const format = getWeightFormat('f32');
  test(`f32 on CPUs (${linearLaunch(format, { rows: c.N, cols: c.K, workgroupSize: c.WG, lanes: 1 }).kernel}) T=${c.T} K=${c.K} N=${c.N}${c.acc ? ' accumulate' : ''}${c.outRows ? ` ${c.outRows} out rows` : ''}`, async () => {
    const { got, want } = await run(format, c);
    assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
  });
}

// x staged in many slices (the last one partial), for a full tile of 8 tokens and for a single token.
for (const name of ['f16', 'bf16', 'int8', 'int4'] as const) {
  for (const T of [9, 1]) {
    const format = getWeightFormat(name, name === 'int4' ? { groupSize: 32, symmetric: false } : {});
    const c: Case = { T, K: 1000, N: 20, WG: 64, LANES: 8, ROWS: 2, XS: 256, seed: 12 + T };
    test(`${format.name} T=${T} K=${c.K} in slices of ${c.XS} staged floats`, async () => {
      const { got, want } = await run(format, c);
      assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
    });
  }
}

// Codes the packers never write (int8 -128, the symmetric int4 code 0) still decode as dequantize says: every bit
// pattern of random words, with random positive scales.
for (const [name, options] of [
  ['int8', {}],
  ['int4', { groupSize: 64, symmetric: true }],
  ['int4', { groupSize: 32, symmetric: false }],
] as const) {
  const format = getWeightFormat(name, options);
  for (const LANES of [1, 32]) {
    test(`${format.name} LANES=${LANES} decodes every code`, async () => {
      const [N, K] = [9, 200];
      const template = format.pack(new Float32Array(N * K).fill(1), N, K);
      const words = Uint32Array.from(randoms(template.words.length, 21), (v) => Math.floor((v + 1) * 2 ** 31));
      for (let n = 0; n < N; n++)
        words.fill(
          0,
          n * template.rowWords + Math.ceil(K / 8) * (name === 'int8' ? 2 : 1),
          (n + 1) * template.rowWords,
        );
      const scales = randoms(template.scales!.length, 22).map((v) => v + 1.5);
      const packed = { ...template, words, scales };
      const bytes = new Int8Array(words.buffer);
      if (name === 'int8') assert.ok(bytes.includes(-128), 'the words hold -128');
      const { got, want } = await run(format, { T: 3, K, N, WG: 64, LANES, ROWS: 2, seed: 23 }, packed);
      assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
    });
  }
}

// More row groups than one dispatch dimension allows (65535): the grid folds them over y.
for (const name of ['f16', 'int4'] as const) {
  test(`${name}: 70000 rows fold over the grid's y`, async () => {
    const format = getWeightFormat(name);
    const c: Case = { T: 2, K: 20, N: 70000, WG: 32, LANES: 32, seed: 9 };
    assert.ok(linearGrid(c.N, c.T, 1)[1] > 1, 'the case must fold');
    const { got, want } = await run(format, c);
    assert.ok(relError(got, want) <= TOL, `relative error ${relError(got, want)}`);
  });
}

test('int8 classifier reads only counts.n_out rows', async () => {
  const format = getWeightFormat('int8');
  const { got, want } = await run(format, { T: 8, K: 64, N: 50, WG: 64, LANES: 32, ROWS: 2, outRows: 3, seed: 11 });
  assert.ok(relError(got.subarray(0, 3 * 50), want) <= TOL);
  assert.ok(got.subarray(3 * 50).every(Number.isNaN), 'rows past n_out stay untouched');
});
