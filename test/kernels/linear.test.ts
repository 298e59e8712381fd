// embedding, rmsnorm, matmul and swiglu kernels against the CPU reference ops, on fresh random inputs with
// poisoned outputs. Bound: f32 accumulation vs f64, relative error <= 1e-5 (observed ~1e-7).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearGrid } from '../../engine/ops/weight-formats.ts';
import { matmul, rmsnorm, swiglu } from '../../engine/reference/ops.ts';
import { buffer, counts, dispatch, gpu, randoms, readF32, relError } from '../helpers/gpu.ts';

const TOL = 1e-5;

for (const WG of [64, 128, 256]) {
  for (const fed of [false, true]) {
    // Fed (a decode step chained on the GPU): token t is the previous step's argmax of out row t, not tokens[t].
    test(`embedding gathers token rows (WG ${WG})${fed ? ", fed from the previous step's ids" : ''}`, async () => {
      const ctx = await gpu();
      const d = ctx.device;
      const [V, D, T] = [37, 200, 5];
      const table = randoms(V * D, 1);
      const tokens = new Uint32Array([3, 36, 0, 3, 17]);
      const ids = new Uint32Array([20, 1, 36, 36, 5]);
      const x = buffer(d, T * D);
      const countsBuf = buffer(d, new Uint32Array([T, 0, fed ? 1 : 0, 0]));
      await dispatch(
        ctx,
        'embedding',
        { WG, D },
        [buffer(d, tokens), buffer(d, table), x, countsBuf, buffer(d, ids)],
        [Math.ceil(D / WG), T],
      );
      const got = await readF32(ctx, x, T * D);
      const want = fed ? ids : tokens;
      for (let t = 0; t < T; t++) {
        assert.deepEqual(got.subarray(t * D, (t + 1) * D), table.subarray(want[t]! * D, (want[t]! + 1) * D));
      }
    });
  }
}

for (const [WG, T, D, gather] of [
  [64, 3, 96, false],
  [128, 1, 64, false],
  [256, 4, 300, true],
] as const) {
  test(`rmsnorm T=${T} D=${D} WG=${WG}${gather ? ' gathered rows' : ''}`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const x = randoms(T * D, 2, 3);
    const w = randoms(D, 3);
    const rows = gather ? new Uint32Array([2, 0]) : new Uint32Array([0]);
    const R = gather ? rows.length : T;
    const y = buffer(d, R * D);
    await dispatch(
      ctx,
      'rmsnorm',
      { WG, D, EPS: 1e-5, GATHER: gather ? 1 : 0 },
      [buffer(d, x), buffer(d, w), y, counts(d, T, gather ? R : 0), buffer(d, rows)],
      [R],
    );
    const ref = rmsnorm(x, w, 1e-5);
    const want = gather ? [...rows].flatMap((r) => [...ref.subarray(r * D, (r + 1) * D)]) : ref;
    assert.ok(relError(await readF32(ctx, y, R * D), want) <= TOL);
  });
}

for (const [WG, LANES, T, K, N, acc] of [
  [64, 32, 1, 100, 70, false],
  [64, 1, 1, 100, 70, false], // a row per thread, as on lavapipe
  [128, 32, 9, 64, 33, false], // 9 tokens: two token tiles, the second partial
  [128, 1, 9, 64, 33, false],
  [256, 8, 5, 130, 17, true], // accumulate into the residual
  [128, 32, 2, 4, 70000, false], // more row groups than one dispatch dimension allows
  [128, 1, 1, 1, 9000000, false], // row groups folded with a row per thread
] as const) {
  test(`matmul T=${T} K=${K} N=${N} WG=${WG} LANES=${LANES}${acc ? ' accumulate' : ''}`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const x = randoms(T * K, 4);
    const w = randoms(N * K, 5);
    const y0 = randoms(T * N, 6);
    const y = acc ? buffer(d, y0) : buffer(d, T * N);
    await dispatch(
      ctx,
      'matmul',
      { WG, LANES, K, N, ACCUMULATE: acc ? 1 : 0 },
      [buffer(d, x), buffer(d, w), y, counts(d, T)],
      linearGrid(N, T, WG / LANES),
    );
    const ref = matmul(x, w, T, N, K);
    if (acc) for (let i = 0; i < ref.length; i++) ref[i]! += y0[i]!;
    assert.ok(relError(await readF32(ctx, y, T * N), ref) <= TOL);
  });
}

test('matmul reads only counts.n_out rows for the classifier', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const [R, K, N] = [3, 32, 50];
  const x = randoms(R * K, 7);
  const w = randoms(N * K, 8);
  const y = buffer(d, 8 * N);
  await dispatch(
    ctx,
    'matmul',
    { WG: 64, LANES: 16, K, N, USE_OUT_COUNT: 1 },
    [buffer(d, x), buffer(d, w), y, counts(d, 8, R)],
    linearGrid(N, 8, 4),
  );
  const got = await readF32(ctx, y, 8 * N);
  assert.ok(relError(got.subarray(0, R * N), matmul(x, w, R, N, K)) <= TOL);
  assert.ok(got.subarray(R * N).every(Number.isNaN), 'rows past n_out stay untouched');
});

test('swiglu', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const [T, H] = [3, 77];
  const g = randoms(T * H, 9, 4);
  const u = randoms(T * H, 10);
  const gate = buffer(d, g);
  await dispatch(ctx, 'swiglu', { WG: 64, H }, [gate, buffer(d, u), counts(d, T)], [Math.ceil((T * H) / 64)]);
  assert.ok(relError(await readF32(ctx, gate, T * H), swiglu(g, u)) <= TOL);
});
