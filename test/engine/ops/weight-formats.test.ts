// The weight-format registry, the documented bit layouts (hand-written expected words) and the pack -> dequantize
// round-trip error bounds of each format (bounds derived here from the input, not from the packed scales).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { intDotParams } from '../../../engine/ops/int-dot.ts';
import {
  defaultLinearParams,
  getWeightFormat,
  linearLaunch,
  weightFormatNames,
} from '../../../engine/ops/weight-formats.ts';
import { randoms } from '../../helpers/gpu.ts';

const badInput = (re: RegExp) => (e: unknown) =>
  e instanceof BenchError && e.code === 'BAD_INPUT' && re.test(e.message);

test('registry: known names; unknown names and options are BAD_INPUT listing what works', () => {
  assert.deepEqual(weightFormatNames(), ['f32', 'f16', 'bf16', 'int8', 'int4']);
  assert.throws(() => getWeightFormat('fp8'), badInput(/unknown weight format 'fp8'.*f32, f16, bf16, int8, int4/));
  assert.throws(() => getWeightFormat('int4', { groupSize: 48 }), badInput(/group size 48.*32, 64, 128/));
  assert.throws(() => getWeightFormat('int8', { groupSize: 32 }), badInput(/int4 only/));
  assert.throws(() => getWeightFormat('toString'), badInput(/unknown/));
  assert.equal(getWeightFormat('int4').name, 'int4-g64');
  assert.equal(getWeightFormat('int4', { groupSize: 32, symmetric: false }).name, 'int4-g32-asym');
});

test('shapes that do not match the data, NaN weights and f16 overflow are BAD_INPUT', () => {
  assert.throws(() => getWeightFormat('f16').pack(new Float32Array(6), 4, 2), badInput(/\[4, 2\]/));
  assert.throws(() => getWeightFormat('int8').pack(new Float32Array([1, Number.NaN]), 1, 2), badInput(/NaN/));
  assert.throws(() => getWeightFormat('int4').pack(new Float32Array([1, Number.NaN]), 1, 2), badInput(/NaN/));
  assert.throws(() => getWeightFormat('f16').pack(new Float32Array([70000]), 1, 1), badInput(/overflows f16/));
});

test('f16 and bf16 layout: even k in the low half, rows padded to 4 words', () => {
  const w = new Float32Array([1, -2, 0.5, /* row 1 */ 3, 0, -0.25]);
  const f16 = getWeightFormat('f16').pack(w, 2, 3);
  assert.equal(f16.rowWords, 4);
  assert.deepEqual([...f16.words], [0xc0003c00, 0x3800, 0, 0, 0x00004200, 0xb400, 0, 0]);
  const bf16 = getWeightFormat('bf16').pack(w, 2, 3);
  assert.deepEqual([...bf16.words], [0xc0003f80, 0x3f00, 0, 0, 0x00004040, 0xbe80, 0, 0]);
});

test('int8 layout: bytes in k order, scale max|row| / 127', () => {
  const p = getWeightFormat('int8').pack(new Float32Array([127, -64, 3, 0, 5]), 1, 5);
  assert.equal(p.rowWords, 4);
  assert.deepEqual([...p.words], [0x0003c07f, 0x05, 0, 0]);
  assert.deepEqual([...p.scales!], [1]);
});

test('int4 layout: low nibble first; symmetric codes q + 8, asymmetric (scale, min)', () => {
  const sym = new Float32Array(40);
  sym.set([7, -7, 1]); // group 0 (k 0..31): scale 1, codes 15, 1, 9, then zeros as 8
  sym[32] = 14; // group 1 (k 32..39): scale 2, code 7 + 8
  const p = getWeightFormat('int4', { groupSize: 32 }).pack(sym, 1, 40);
  assert.equal(p.rowWords, 8); // 40 values -> two 32-value chunks
  assert.deepEqual([...p.words], [0x8888891f, 0x88888888, 0x88888888, 0x88888888, 0x8888888f, 0, 0, 0]);
  assert.deepEqual([...p.scales!], [1, 2]);
  const asym = new Float32Array([1, 16, 4, 1.5]); // min 1, max 16: scale 1; 1.5 rounds to code 1 (0.5 up)
  const q = getWeightFormat('int4', { groupSize: 32, symmetric: false }).pack(asym, 1, 4);
  assert.deepEqual([...q.words], [0x13f0, 0, 0, 0]);
  assert.deepEqual([...q.scales!], [1, 1]);
});

/** Checks |w - dequantize(pack(w))| per element against bound(row, k). */
function roundTrip(
  name: string,
  opts: object,
  rows: number,
  cols: number,
  bound: (w: Float32Array, n: number, k: number) => number,
) {
  const w = randoms(rows * cols, rows + cols, 2).map((v, i) => v + ((i % 7) - 3) * 0.05);
  const f = getWeightFormat(name, opts);
  const back = f.dequantize(f.pack(w, rows, cols));
  let worst = 0;
  for (let n = 0; n < rows; n++) {
    for (let k = 0; k < cols; k++) {
      const err = Math.abs(back[n * cols + k]! - w[n * cols + k]!);
      const b = bound(w, n, k);
      assert.ok(err <= b, `${f.name} [${n}, ${k}]: |error| ${err} > ${b}`);
      worst = Math.max(worst, err / (b || 1));
    }
  }
  return { back, worst };
}

const maxOf = (xs: Float32Array, f: (v: number) => number) => xs.reduce((m, v) => Math.max(m, f(v)), -Infinity);
const SLOP = 1 + 1e-6; // f32 rounding of the scale and of the decoded value

for (const [rows, cols] of [
  [5, 172],
  [3, 173],
  [2, 1],
] as const) {
  test(`round trip f16 / bf16 [${rows}, ${cols}]: relative error <= 2^-11 / 2^-8`, () => {
    roundTrip('f16', {}, rows, cols, (w, n, k) => Math.max(Math.abs(w[n * cols + k]!) * 2 ** -11, 2 ** -25));
    roundTrip('bf16', {}, rows, cols, (w, n, k) => Math.abs(w[n * cols + k]!) * 2 ** -8);
  });

  test(`round trip int8 [${rows}, ${cols}]: |error| <= (max|row| / 127) / 2`, () => {
    const row = (w: Float32Array, n: number) => w.subarray(n * cols, (n + 1) * cols);
    const { worst } = roundTrip('int8', {}, rows, cols, (w, n) => (maxOf(row(w, n), Math.abs) / 127 / 2) * SLOP);
    if (cols > 100) assert.ok(worst > 0.5, 'errors reach a fair part of the bound: the codes really are 8-bit');
  });

  for (const groupSize of [32, 64, 128]) {
    test(`round trip int4-g${groupSize} [${rows}, ${cols}]: |error| <= group scale / 2, <= 16 levels per group`, () => {
      const group = (w: Float32Array, n: number, k: number) => {
        const g0 = Math.floor(k / groupSize) * groupSize;
        return w.subarray(n * cols + g0, n * cols + Math.min(g0 + groupSize, cols));
      };
      for (const symmetric of [true, false]) {
        const { back } = roundTrip('int4', { groupSize, symmetric }, rows, cols, (w, n, k) => {
          const g = group(w, n, k);
          const scale = symmetric ? maxOf(g, Math.abs) / 7 : (maxOf(g, (v) => v) + maxOf(g, (v) => -v)) / 15;
          return (scale / 2) * SLOP + 1e-7;
        });
        for (let n = 0; n < rows; n++) {
          for (let k = 0; k < cols; k += groupSize) {
            const levels = new Set(group(back, n, k));
            assert.ok(levels.size <= (symmetric ? 15 : 16), `${levels.size} levels in a group`);
          }
        }
      }
    });
  }
}

test('bytes per matrix-vector product count padding and scales', () => {
  assert.equal(getWeightFormat('f32').bytesPerMatvec(10, 172), 10 * 172 * 4);
  assert.equal(getWeightFormat('f16').bytesPerMatvec(10, 172), 10 * 88 * 4); // 172 -> 176 values
  assert.equal(getWeightFormat('int8').bytesPerMatvec(4096, 4096), 4096 * (4096 + 4));
  // int4-g64 at K = 4096: 2048 bytes of codes + 64 f32 scales per row = 4.5 bits per weight.
  assert.equal(getWeightFormat('int4').bytesPerMatvec(4096, 4096), (4096 * 4096 * 4.5) / 8);
  assert.equal(getWeightFormat('int4', { groupSize: 32, symmetric: false }).bytesPerMatvec(1, 4096), 2048 + 128 * 8);
});

test('linearLaunch: constants and rows per workgroup; lanes the kernels cannot use are BAD_INPUT', () => {
  const l = linearLaunch(getWeightFormat('int4', { groupSize: 128, symmetric: false }), {
    rows: 100,
    cols: 172,
    workgroupSize: 128,
    lanes: 8,
    rowsPerThread: 2,
    accumulate: true,
  });
  assert.equal(l.kernel, 'matmul_int4');
  assert.deepEqual(l.constants, {
    WG: 128,
    LANES: 8,
    ROWS: 2,
    UNROLL: 2,
    XS: 4096,
    K: 172,
    N: 100,
    ACCUMULATE: 1,
    USE_OUT_COUNT: 0,
    STRIDE: 6,
    GROUPS: 2,
    CHUNKS_PER_GROUP: 4,
    ASYM: 1,
  });
  assert.equal(l.rowsPerWorkgroup, 32);
  const shape = { rows: 8, cols: 8, workgroupSize: 64 };
  assert.throws(() => linearLaunch(getWeightFormat('f16'), { ...shape, lanes: 3 }), badInput(/power of two/));
  assert.throws(() => linearLaunch(getWeightFormat('f16'), { ...shape, lanes: 128 }), badInput(/power of two/));
  assert.throws(
    () => linearLaunch(getWeightFormat('f16'), { ...shape, lanes: 1, rowsPerThread: 5 }),
    badInput(/1\.\.4/),
  );
  assert.throws(() => linearLaunch(getWeightFormat('f32'), { ...shape, lanes: 4 }), badInput(/lanes 1 or >= 8/));
  assert.throws(
    () => linearLaunch(getWeightFormat('int4'), { ...shape, lanes: 8, xStage: 128 }),
    badInput(/at least 256/),
  );
  assert.throws(() => linearLaunch(getWeightFormat('int8'), { ...shape, lanes: 8, unroll: 5 }), badInput(/unroll 5/));
  assert.deepEqual(linearLaunch(getWeightFormat('f32'), { ...shape, lanes: 32 }).constants, {
    WG: 64,
    LANES: 32,
    K: 8,
    N: 8,
    ACCUMULATE: 0,
    USE_OUT_COUNT: 0,
  });
});

test('default thread layouts are launchable for every format, on CPUs and GPUs, with the SwiGLU epilogue too', () => {
  for (const name of weightFormatNames()) {
    const format = getWeightFormat(name);
    for (const software of [true, false]) {
      for (const workgroupSize of [64, 128, 256]) {
        for (const [swiglu, rows, cols] of [
          [false, 10, 172], // no taller than wide
          [false, 172, 10],
          [true, 344, 172], // the fused gate/up layer is tall
        ] as const) {
          const params = defaultLinearParams(format, rows, cols, software, workgroupSize, swiglu);
          const l = linearLaunch(format, { rows, cols, workgroupSize, ...params, swiglu });
          // f32 on CPUs runs matmul_rows, which has no lanes: 8 rows an invocation.
          assert.equal(l.constants.LANES ?? 1, software ? 1 : 32);
          assert.equal(l.constants.SWIGLU, swiglu ? 1 : undefined);
        }
      }
    }
  }
});

test('integer-dot thread layouts are launchable on CPUs and GPUs, with fewer lanes a row the taller the layer', () => {
  for (const name of ['int8', 'int4']) {
    const format = getWeightFormat(name);
    for (const software of [true, false]) {
      for (const workgroupSize of [64, 128, 256]) {
        let lastLanes = Number.POSITIVE_INFINITY;
        for (const [swiglu, rows, cols] of [
          [false, 172, 172],
          [false, 344, 172], // 2x as tall as wide
          [true, 688, 172], // 4x: the fused gate/up layer
        ] as const) {
          const adapter = { subgroupMinSize: 0, workgroupBytes: 32768 }; // no subgroups: the shared-memory reductions
          const params = intDotParams(format, rows, cols, software, workgroupSize, swiglu, adapter);
          const l = linearLaunch(format, { rows, cols, workgroupSize, ...params, swiglu, intDot: true });
          assert.equal(l.kernel, `${format.kernel}_dot`);
          if (software) {
            assert.deepEqual([l.constants.LANES, l.constants.PREFETCH], [1, 0]);
          } else {
            assert.ok(l.constants.LANES! <= lastLanes, `${name} ${rows}x${cols}: ${l.constants.LANES} lanes`);
            lastLanes = l.constants.LANES!;
          }
        }
      }
    }
  }
});
