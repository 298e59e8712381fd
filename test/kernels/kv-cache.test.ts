// --kv-cache f16 and int8: rope_kv stores K and V in the format (kernels/kv_store.wgsl) as the CPU encoder does,
// and every attention kernel reads them back (kernels/kv_cache.wgsl) as the CPU decoder does. Bounds: a stored
// head equals the CPU round trip of the reference values within one f16 step (2e-3 relative) or one int8 step
// (1/127 of the head's absmax); attention over an encoded cache equals the reference over the decoded values
// within 1e-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttentionBuffers, attentionPlan } from '../../engine/ops/attention.ts';
import { kvDecodeHead, kvEncodeHead, kvFormatCode, kvHeadWords, kvRoundTrip } from '../../engine/ops/kv-cache.ts';
import { attention, rope } from '../../engine/reference/ops.ts';
import { readBuffer } from '../../engine/runtime/gpu-buffers.ts';
import { buffer, counts, dispatch, gpu, randoms, relError } from '../helpers/gpu.ts';
import { ropeKv } from '../helpers/rope-kv.ts';

const BLOCK = 4;
const MAX_BLOCKS = 4;

for (const [format, layout] of [
  ['f16', 'interleaved'],
  ['int8', 'half'],
  ['int8', 'interleaved'],
] as const) {
  test(`rope_kv stores K and V as ${format} (${layout} RoPE)`, async () => {
    const ctx = await gpu();
    const d = ctx.device;
    const [H, KVH, HD, T] = [4, 2, 16, 3];
    const words = kvHeadWords(format, HD);
    const positions = new Uint32Array([0, 5, 6]);
    const slots = new Uint32Array([0, 1, 1]);
    const table = new Uint32Array(2 * MAX_BLOCKS);
    table.set([3], 0);
    table.set([2, 0], MAX_BLOCKS); // position 5 -> block 0 offset 1, 6 -> block 0 offset 2
    const q = randoms(T * H * HD, 31);
    const k = randoms(T * KVH * HD, 32, 3);
    const v = randoms(T * KVH * HD, 33, 0.5);
    const cacheWords = 4 * BLOCK * KVH * words;
    const kc = buffer(d, new Uint32Array(cacheWords));
    const vc = buffer(d, new Uint32Array(cacheWords));
    await ropeKv(
      ctx,
      {
        heads: H,
        kvHeads: KVH,
        headDim: HD,
        layout,
        block: BLOCK,
        maxBlocks: MAX_BLOCKS,
        workgroupSize: 16,
        kvFormat: kvFormatCode(format),
      },
      {
        q: buffer(d, q),
        k: buffer(d, k),
        v: buffer(d, v),
        kCache: kc,
        vCache: vc,
      },
      { positions, slots, blockTable: table },
      T,
    );
    const kGot = new Uint32Array(await readBuffer(d, kc, cacheWords * 4));
    const vGot = new Uint32Array(await readBuffer(d, vc, cacheWords * 4));
    const kRef = rope(k, KVH, HD, [...positions], 10000, layout);
    const bound = format === 'f16' ? 2e-3 : 1.01 / 127;
    for (let t = 0; t < T; t++) {
      const p = positions[t]!;
      const row = table[slots[t]! * MAX_BLOCKS + Math.floor(p / BLOCK)]! * BLOCK + (p % BLOCK);
      for (let h = 0; h < KVH; h++) {
        const at = (row * KVH + h) * words;
        const src = (t * KVH + h) * HD;
        const kWant = kvRoundTrip(format, kRef.subarray(src, src + HD));
        const vWant = kvRoundTrip(format, v.subarray(src, src + HD));
        const kErr = relError(kvDecodeHead(format, kGot.subarray(at, at + words), HD), kWant);
        const vErr = relError(kvDecodeHead(format, vGot.subarray(at, at + words), HD), vWant);
        assert.ok(kErr <= bound, `k of token ${t} head ${h}: ${kErr}`);
        assert.ok(vErr <= bound, `v of token ${t} head ${h}: ${vErr}`);
        if (format === 'int8') {
          // The scale word is the head's absmax (the decoder depends on it).
          const absmax = new Float32Array(vGot.buffer, (at + HD / 4) * 4, 1)[0]!;
          assert.equal(absmax, Math.fround(Math.max(...Array.from(v.subarray(src, src + HD), Math.abs))));
        }
      }
    }
  });
}

for (const format of ['f16', 'int8'] as const) {
  for (const [kind, software] of [
    ['naive', false],
    ['flash', false],
    ['flash', true],
  ] as const) {
    test(`${kind} attention (${software ? 'CPU' : 'GPU'} kernels) reads a ${format} cache`, async () => {
      const ctx = await gpu();
      const d = ctx.device;
      const [H, KVH, HD, S] = [4, 2, 16, 9];
      const words = kvHeadWords(format, HD);
      const table = new Uint32Array(MAX_BLOCKS);
      table.set([2, 0, 3]); // positions 0-3 in block 2, 4-7 in block 0, 8 in block 3
      const k = randoms(S * KVH * HD, 41);
      const v = randoms(S * KVH * HD, 42);
      const kc = new Uint32Array(4 * BLOCK * KVH * words);
      const vc = new Uint32Array(4 * BLOCK * KVH * words);
      const kRound = new Float32Array(k.length);
      const vRound = new Float32Array(v.length);
      for (let p = 0; p < S; p++) {
        const row = table[Math.floor(p / BLOCK)]! * BLOCK + (p % BLOCK);
        for (let h = 0; h < KVH; h++) {
          const src = (p * KVH + h) * HD;
          const at = (row * KVH + h) * words;
          kc.set(kvEncodeHead(format, k.subarray(src, src + HD)), at);
          vc.set(kvEncodeHead(format, v.subarray(src, src + HD)), at);
          kRound.set(kvRoundTrip(format, k.subarray(src, src + HD)), src);
          vRound.set(kvRoundTrip(format, v.subarray(src, src + HD)), src);
        }
      }
      const positions = new Uint32Array([7, 8]); // the last two positions of one sequence in slot 0
      const q = randoms(2 * H * HD, 43);
      const plan = attentionPlan(kind, {
        headDim: HD,
        nHeads: H,
        nKvHeads: KVH,
        blockSize: BLOCK,
        maxBlocks: MAX_BLOCKS,
        maxContext: 16,
        maxTokens: 2,
        workgroupSize: 16,
        software,
        kvFormat: kvFormatCode(format),
        splitAlign: 4,
      });
      const out = buffer(d, 2 * H * HD);
      const bufs: AttentionBuffers = {
        q: buffer(d, q),
        kCache: buffer(d, kc),
        vCache: buffer(d, vc),
        positions: buffer(d, positions),
        slots: buffer(d, new Uint32Array(2)),
        blockTable: buffer(d, table),
        scratch: buffer(d, Math.max(plan.scratchFloats, 4)),
        out,
        counts: counts(d, 2),
      };
      for (const pass of plan.passes) {
        const bound = pass.bindings.map((b) => (b ? bufs[b] : undefined));
        await dispatch(ctx, pass.kernel, pass.constants, bound, pass.grid(2, 9), pass.entryPoint);
      }
      const got = new Float32Array(await readBuffer(d, out, 2 * H * HD * 4));
      const want = attention(q, kRound, vRound, { nHeads: H, nKvHeads: KVH, headDim: HD, startPos: 7 });
      assert.ok(relError(got, want) <= 1e-4, `relative error ${relError(got, want)}`);
      // And the format matters: the same attention over the unrounded values differs by more than the bound.
      if (format === 'int8')
        assert.ok(relError(got, attention(q, k, v, { nHeads: H, nKvHeads: KVH, headDim: HD, startPos: 7 })) > 1e-4);
    });
  }
}
