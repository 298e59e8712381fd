// rope_kv (RoPE + paged KV write) and attention (over the paged cache, grouped-query heads) against the CPU
// reference ops. Blocks are handed out shuffled, so a kernel that ignores the block table fails.
// Bound: relative error <= 1e-4 (f32 trigonometry and exp vs f64; observed ~1e-6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttentionBuffers, attentionPlan, flashSplits, headGroup } from '../../engine/ops/attention.ts';
import { attention, rope } from '../../engine/reference/ops.ts';
import { buffer, counts, dispatch, gpu, randoms, readF32, relError } from '../helpers/gpu.ts';
import { ropeKv } from '../helpers/rope-kv.ts';

const TOL = 1e-4;
const BLOCK = 4;
const MAX_BLOCKS = 8;

for (const layout of ['interleaved', 'half'] as const) {
  test(`rope_kv rotates q and k (${layout}) and stores k, v in the right paged slots`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const [H, KVH, HD, T] = [4, 2, 8, 5];
    const positions = new Uint32Array([0, 1, 2, 9, 13]);
    const slots = new Uint32Array([0, 0, 0, 1, 1]);
    const table = new Uint32Array(2 * MAX_BLOCKS);
    table.set([5, 2, 7, 0], 0); // slot 0
    table.set([1, 6, 3, 4], MAX_BLOCKS); // slot 1: position 9 -> block 3 offset 1, 13 -> block 4 offset 1
    const q = randoms(T * H * HD, 11);
    const k = randoms(T * KVH * HD, 12);
    const v = randoms(T * KVH * HD, 13);
    const kvd = KVH * HD;
    const qb = buffer(d, q);
    const kc = buffer(d, 8 * BLOCK * kvd);
    const vc = buffer(d, 8 * BLOCK * kvd);
    await ropeKv(
      ctx,
      { heads: H, kvHeads: KVH, headDim: HD, layout, block: BLOCK, maxBlocks: MAX_BLOCKS },
      {
        q: qb,
        k: buffer(d, k),
        v: buffer(d, v),
        kCache: kc,
        vCache: vc,
      },
      { positions, slots, blockTable: table },
      T,
    );
    const pos = [...positions];
    assert.ok(relError(await readF32(ctx, qb, q.length), rope(q, H, HD, pos, 10000, layout)) <= TOL);
    const kRef = rope(k, KVH, HD, pos, 10000, layout);
    const kGot = await readF32(ctx, kc, 8 * BLOCK * kvd);
    const vGot = await readF32(ctx, vc, 8 * BLOCK * kvd);
    for (let t = 0; t < T; t++) {
      const p = positions[t]!;
      const block = table[slots[t]! * MAX_BLOCKS + Math.floor(p / BLOCK)]!;
      const at = (block * BLOCK + (p % BLOCK)) * kvd;
      assert.ok(relError(kGot.subarray(at, at + kvd), kRef.subarray(t * kvd, (t + 1) * kvd)) <= TOL, `k of token ${t}`);
      assert.deepEqual(vGot.subarray(at, at + kvd), v.subarray(t * kvd, (t + 1) * kvd), `v of token ${t}`);
    }
  });
}

// Every attention kind as the runner launches it (attentionPlan), on GPUs and on CPUs. Splits aligned to 4 positions
// make GPU flash cut contexts (11 positions: 3 splits, 5: 2) that `combine` merges. GPU flash takes tiles of WG / 8
// positions (8 threads per score; fewer where WG is smaller): WG 4 and 8 walk a split a position at a time, WG 16
// has 8 groups of value threads for head dim 8, WG 64 at head dim 64 tiles of 8 positions longer than a split. GPU
// flash serves the query heads of a KV head from one workgroup (up to 4; 8th: a group size of its own, 1 = a
// workgroup per head). A split target (7th) caps the splits by the step's head groups x tokens: 12 leaves one split
// per (group, token) with 4 groups of 3 tokens, two (11 positions: 8 + 3) with 2 groups.
for (const [kind, software, WG, H, KVH, HD, splitTarget, group] of [
  ['naive', false, 64, 4, 4, 16], // multi-head
  ['naive', false, 128, 8, 2, 8], // grouped-query
  ['naive', false, 64, 4, 1, 32], // multi-query
  ['naive', true, 64, 8, 4, 16], // the narrow workgroup software adapters get
  ['flash', false, 4, 4, 4, 16], // split contexts
  ['flash', false, 16, 8, 2, 8], // one split per token, written directly; groups of 4 heads
  ['flash', false, 16, 8, 2, 8, 0, 1], // a workgroup per head
  ['flash', false, 4, 8, 1, 16, 0, 2], // groups of 2 of the 8 heads of one KV head
  ['flash', false, 4, 4, 1, 32],
  ['flash', false, 64, 4, 2, 64],
  ['flash', false, 4, 4, 4, 16, 12],
  ['flash', false, 4, 4, 2, 16, 12],
  ['flash', true, 64, 4, 4, 16], // CPUs: 12 (token, head) pairs over workgroups of 8, the second partial
  ['flash', true, 64, 8, 2, 8],
  ['flash', true, 64, 4, 1, 32],
] as const) {
  const where = software ? 'CPU' : 'GPU';
  const capped = splitTarget ? `, split target ${splitTarget}` : '';
  const grouped = group ? `, head group ${group}` : '';
  test(`${kind} attention (${where} kernels) over a paged cache: ${H} heads, ${KVH} kv heads, head dim ${HD}, WG ${WG}${capped}${grouped}`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const kvd = KVH * HD;
    const S = 11; // positions in the cache for sequence A
    const table = new Uint32Array(2 * MAX_BLOCKS);
    table.set([6, 1, 4], 0); // seq A in slot 0
    table.set([3, 0], MAX_BLOCKS); // seq B in slot 1 (5 positions)
    const kA = randoms(S * kvd, 14);
    const vA = randoms(S * kvd, 15);
    const kB = randoms(5 * kvd, 16);
    const vB = randoms(5 * kvd, 17);
    const kc = new Float32Array(8 * BLOCK * kvd);
    const vc = new Float32Array(8 * BLOCK * kvd);
    const place = (slot: number, k: Float32Array, v: Float32Array) => {
      for (let p = 0; p < k.length / kvd; p++) {
        const at = (table[slot * MAX_BLOCKS + Math.floor(p / BLOCK)]! * BLOCK + (p % BLOCK)) * kvd;
        kc.set(k.subarray(p * kvd, (p + 1) * kvd), at);
        vc.set(v.subarray(p * kvd, (p + 1) * kvd), at);
      }
    };
    place(0, kA, vA);
    place(1, kB, vB);
    // Three query tokens: A at positions 9 and 10 (a prefill tail), B at position 4 (a decode).
    const positions = new Uint32Array([9, 10, 4]);
    const slots = new Uint32Array([0, 0, 1]);
    const q = randoms(3 * H * HD, 18);
    const out = buffer(d, 3 * H * HD);
    const plan = attentionPlan(kind, {
      headDim: HD,
      nHeads: H,
      nKvHeads: KVH,
      blockSize: BLOCK,
      maxBlocks: MAX_BLOCKS,
      maxContext: 32,
      maxTokens: 3,
      workgroupSize: WG,
      software,
      splitAlign: 4, // 11 positions: 3 splits, 5: 2
      ...(splitTarget ? { splitTarget } : {}),
      ...(group ? { headGroup: group } : {}),
      groupMinTokens: 1, // steps of 3 tokens run grouped too
    });
    const launched = plan.passes.filter((p) => p.grid(3, 11)[0] > 0);
    if (splitTarget) assert.equal(launched[0]!.grid(3, 11)[2], KVH === H ? 1 : 2, 'splits the grid launches');
    const buffers: AttentionBuffers = {
      q: buffer(d, q),
      kCache: buffer(d, kc),
      vCache: buffer(d, vc),
      positions: buffer(d, positions),
      slots: buffer(d, slots),
      blockTable: buffer(d, table),
      scratch: buffer(d, randoms(Math.max(plan.scratchFloats, 4), 19)), // garbage: no kernel may read unwritten scratch
      out,
      counts: counts(d, 3),
    };
    for (const pass of plan.passes) {
      const bound = pass.bindings.map((b) => (b ? buffers[b] : undefined));
      await dispatch(ctx, pass.kernel, pass.constants, bound, pass.grid(3, 11), pass.entryPoint);
    }
    const got = await readF32(ctx, out, 3 * H * HD);
    const shape = { nHeads: H, nKvHeads: KVH, headDim: HD };
    const refA = attention(q.subarray(0, 2 * H * HD), kA, vA, { ...shape, startPos: 9 });
    const refB = attention(q.subarray(2 * H * HD), kB, vB, { ...shape, startPos: 4 });
    assert.ok(relError(got.subarray(0, 2 * H * HD), refA) <= TOL, 'sequence A');
    assert.ok(relError(got.subarray(2 * H * HD), refB) <= TOL, 'sequence B');
  });
}

test('flash splits: one split (and no combine pass) up to the alignment, then at most MAX_SPLITS', () => {
  assert.deepEqual(
    [1, 32, 33, 64, 257, 512, 513, 8192].map((len) => flashSplits(len, 32, 16)),
    [1, 1, 2, 2, 9, 16, 9, 16],
  );
  const plan = attentionPlan('flash', {
    headDim: 16,
    nHeads: 4,
    nKvHeads: 2,
    blockSize: 4,
    maxBlocks: 64,
    maxContext: 256,
    maxTokens: 8,
    workgroupSize: 64,
    software: false,
  });
  const [main, combine, mainGrouped, combineGrouped] = plan.passes;
  // Steps of fewer than 16 tokens: a workgroup per (head, token, split), combine per (head, token).
  assert.deepEqual(main!.grid(8, 32), [4, 8, 1]);
  assert.deepEqual(combine!.grid(8, 32), [0, 0, 0], 'nothing to merge');
  assert.deepEqual(main!.grid(8, 100), [4, 8, 4]);
  assert.deepEqual(combine!.grid(8, 100), [4, 8, 1]);
  assert.deepEqual(mainGrouped!.grid(8, 100), [0, 0, 0], 'one grouping a step');
  assert.deepEqual(combineGrouped!.grid(8, 100), [0, 0, 0]);
  // From 16 tokens: 2 groups of the 4 heads (2 per KV head). 2 groups x 256 tokens = 512 workgroups, half the split
  // target, so two splits at most.
  assert.deepEqual(main!.grid(256, 100), [0, 0, 0]);
  assert.deepEqual(mainGrouped!.grid(16, 100), [2, 16, 4]);
  assert.deepEqual(combineGrouped!.grid(16, 100), [4, 16, 1]);
  assert.deepEqual(mainGrouped!.grid(256, 100), [2, 256, 2]);
  assert.deepEqual(mainGrouped!.grid(512, 100), [2, 512, 1]);
  assert.deepEqual(combineGrouped!.grid(512, 100), [0, 0, 0], 'nothing to merge');
});

test('flash head groups: 4, 2 or 1 of the query heads of a KV head', () => {
  assert.deepEqual(
    [
      [32, 32],
      [32, 8],
      [32, 4],
      [12, 2],
      [10, 2],
      [18, 2],
      [32, 1],
    ].map(([h, kv]) => headGroup(h!, kv!)),
    [1, 4, 4, 2, 1, 1, 4],
  );
  const shape = { headDim: 16, nHeads: 8, nKvHeads: 2, blockSize: 4, maxBlocks: 8, maxContext: 32, maxTokens: 4 };
  assert.throws(
    () => attentionPlan('flash', { ...shape, workgroupSize: 64, software: false, headGroup: 3 }),
    /1, 2 or 4 and divides 4/,
  );
});
