// The fused QKV linear's RoPE + KV-store epilogue (kernels/matmul_store_rope.wgsl, --fusion on with an interleaved
// RoPE layout and an f32 or f16 cache), in every linear kernel that can carry it: q = rope(x Wq^T) into y,
// k = rope(x Wk^T) and v = x Wv^T into the paged cache rows of each token's position, against the CPU reference's
// rope of what the same kernel stores without the epilogue (whose products the kernels' own tests check, --int-dot's
// quantized x included). The outputs are poisoned first, so a value the epilogue forgets fails and a stray write shows in the rows no token
// owns. Bounds: q relative 1e-4 (f32 trigonometry, as rope_kv's tests); cached heads as the kv-cache tests (the CPU
// round trip of the reference values within 1e-4 for f32, one f16 step, 2e-3, for f16).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KvCacheFormat, kvDecodeHead, kvFormatCode, kvHeadWords, kvRoundTrip } from '../../engine/ops/kv-cache.ts';
import { getWeightFormat, linearGrid, linearLaunch, type WeightFormat } from '../../engine/ops/weight-formats.ts';
import { rope } from '../../engine/reference/ops.ts';
import { readBuffer } from '../../engine/runtime/gpu-buffers.ts';
import { buffer, counts, dispatch, gpu, randoms, readF32, relError } from '../helpers/gpu.ts';

const [H, KVH, HD, K] = [6, 2, 8, 173]; // K leaves an odd tail in every packing
const [QD, KVD] = [H * HD, KVH * HD];
const N = QD + 2 * KVD;
const BLOCK = 4;
const MAX_BLOCKS = 4;
const BLOCKS = 8;
const POISON = 0x7fc00bad; // a NaN no kernel computes

// [WG, LANES, ROWS]: a thread per row pair as on CPUs (f32: matmul_rows, 8 rows an invocation), lane groups as on
// GPUs (f32: matmul.wgsl, a pair in two adjacent row groups).
const LAYOUTS = [
  [64, 1, 2],
  [64, 32, 4],
  [128, 8, 2],
] as const;

const CASES: [WeightFormat, boolean][] = [
  [getWeightFormat('f32'), false],
  [getWeightFormat('f16'), false],
  [getWeightFormat('int8'), false],
  [getWeightFormat('int8'), true],
  [getWeightFormat('int4', { groupSize: 32, symmetric: false }), true],
];

let seed = 900;
for (const [format, intDot] of CASES) {
  for (const [WG, LANES, ROWS] of LAYOUTS) {
    // T = 5 tokens of two sequences (one token tile); the f16 cache with the GPU layouts only, which the engine runs.
    for (const kv of LANES === 1 ? (['f32'] as const) : (['f32', 'f16'] as const)) {
      seed += 10;
      const s = seed;
      const rows = format.multiRow === false ? 1 : ROWS; // f32: a row per row group (pairs in adjacent groups)
      const name = `${format.name}${intDot ? ' int-dot' : ''} WG=${WG} LANES=${LANES} ROWS=${rows}, ${kv} cache`;
      test(`RoPE + KV-store epilogue: ${name}`, async () => check(format, intDot, [WG, LANES, rows], kv, s));
    }
  }
}

async function check(
  format: WeightFormat,
  intDot: boolean,
  [WG, LANES, ROWS]: readonly [number, number, number],
  kv: KvCacheFormat,
  s: number,
): Promise<void> {
  const ctx = await gpu();
  const d = ctx.device;
  const T = 5;
  const positions = new Uint32Array([0, 1, 6, 3, 4]);
  const slots = new Uint32Array([0, 0, 0, 1, 1]);
  const table = new Uint32Array(2 * MAX_BLOCKS);
  table.set([5, 2], 0); // slot 0: positions 0, 1 -> block 5 offsets 0, 1; 6 -> block 2 offset 2
  table.set([7, 1], MAX_BLOCKS); // slot 1: position 3 -> block 7 offset 3; 4 -> block 1 offset 0
  const x = randoms(T * K, s, 2);
  const w = randoms(N * K, s + 1, 0.5);
  const packed = format.pack(w, N, K);
  const ropeKv = {
    HEAD_DIM: HD,
    N_HEADS: H,
    N_KV_HEADS: KVH,
    BLOCK,
    MAX_BLOCKS,
    KV_FORMAT: kvFormatCode(kv),
    THETA: 10000,
  };
  const shape = { rows: N, cols: K, workgroupSize: WG, lanes: LANES, rowsPerThread: ROWS, intDot };
  const launch = linearLaunch(format, { ...shape, ropeKv });
  const words = kvHeadWords(kv, HD);
  const cacheWords = BLOCKS * BLOCK * KVH * words;
  const poisoned = (n: number) => new Uint32Array(n).fill(POISON);
  const q = buffer(d, poisoned(T * QD));
  const kCache = buffer(d, poisoned(cacheWords));
  const vCache = buffer(d, poisoned(cacheWords));
  const plain = buffer(d, T * N);
  const byBinding = {
    x: buffer(d, x),
    weights: buffer(d, packed.words),
    y: plain,
    counts: counts(d, T),
    scales: packed.scales ? buffer(d, packed.scales) : undefined,
    norm: buffer(d, new Float32Array(4)), // bound, not read (no folded norm)
  };
  const grid = linearGrid(N, T, launch.rowsPerWorkgroup);
  const without = linearLaunch(format, shape);
  await dispatch(
    ctx,
    without.kernel,
    without.constants,
    format.bindings.map((b) => byBinding[b]),
    grid,
  );
  const buffers = format.bindings.map((b) => (b === 'y' ? q : byBinding[b]));
  Object.assign(buffers, {
    7: kCache,
    8: vCache,
    9: buffer(d, positions),
    10: buffer(d, slots),
    11: buffer(d, table),
  });
  await dispatch(ctx, launch.kernel, launch.constants, buffers, grid, 'main', launch.includes);

  // The reference: the rows stored without the epilogue, split into q | k | v, q and k rotated (interleaved pairs).
  const y = await readF32(ctx, plain, T * N);
  const part = (from: number, width: number) =>
    Float32Array.from({ length: T * width }, (_, i) => y[Math.floor(i / width) * N + from + (i % width)]!);
  const pos = [...positions];
  const qErr = relError(await readF32(ctx, q, T * QD), rope(part(0, QD), H, HD, pos, 10000, 'interleaved'));
  assert.ok(qErr <= 1e-4, `q: relative error ${qErr}`);
  const kRef = rope(part(QD, KVD), KVH, HD, pos, 10000, 'interleaved');
  const vRef = part(QD + KVD, KVD);
  const kGot = new Uint32Array(await readBuffer(d, kCache, cacheWords * 4));
  const vGot = new Uint32Array(await readBuffer(d, vCache, cacheWords * 4));
  const bound = kv === 'f16' ? 2e-3 : 1e-4;
  const written = new Set<number>();
  for (let t = 0; t < T; t++) {
    const p = positions[t]!;
    const row = table[slots[t]! * MAX_BLOCKS + Math.floor(p / BLOCK)]! * BLOCK + (p % BLOCK);
    for (let h = 0; h < KVH; h++) {
      const at = (row * KVH + h) * words;
      for (let i = at; i < at + words; i++) written.add(i);
      const src = (t * KVH + h) * HD;
      for (const [label, got, ref] of [
        ['k', kGot, kRef],
        ['v', vGot, vRef],
      ] as const) {
        const want = kvRoundTrip(kv, ref.subarray(src, src + HD));
        const e = relError(kvDecodeHead(kv, got.subarray(at, at + words), HD), want);
        assert.ok(e <= bound, `${label} of token ${t} head ${h}: relative error ${e}`);
      }
    }
  }
  for (let i = 0; i < cacheWords; i++) {
    if (written.has(i)) continue;
    assert.equal(kGot[i], POISON, `k cache word ${i} belongs to no token's position but was written`);
    assert.equal(vGot[i], POISON, `v cache word ${i} belongs to no token's position but was written`);
  }
}

test('linearLaunch refuses a RoPE epilogue layout that splits a rotation pair', () => {
  const base = { rows: 80, cols: 64, workgroupSize: 64, lanes: 32, ropeKv: { HEAD_DIM: 8 } };
  assert.throws(() => linearLaunch(getWeightFormat('f16'), { ...base, rowsPerThread: 3 }), /RoPE/);
  assert.throws(() => linearLaunch(getWeightFormat('f32'), { ...base, lanes: 64 }), /RoPE/); // one row group
  assert.throws(
    () => linearLaunch(getWeightFormat('int8'), { ...base, rowsPerThread: 2, swiglu: true }),
    /one at most/,
  );
});
