// kernels/argmax.wgsl against the CPU's argmax (engine/sampling/sampler.ts): the same index for every row, including
// rows whose maximum appears several times (the lowest index wins) in different segments, and the winner in the last,
// partial segment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmax } from '../../engine/sampling/sampler.ts';
import { buffer, counts, dispatch, gpu, randoms } from '../helpers/gpu.ts';

test('two-pass argmax equals the CPU argmax, ties to the lowest index, across segments', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const [V, R, SEG, WG] = [1000, 6, 64, 32];
  const P = Math.ceil(V / SEG);
  const logits = randoms(V * R, 5);
  const row = (r: number) => logits.subarray(r * V, (r + 1) * V);
  row(1).fill(0.25); // all equal: index 0
  row(2)[700] = 9;
  row(2)[130] = 9; // a tie in another segment, earlier: 130
  row(3)[999] = 9; // the last, partial segment
  row(4)[64] = 9;
  row(4)[63] = 9; // a tie across a segment boundary: 63
  row(5).fill(-Infinity);
  const ids = buffer(d, R);
  const pairs = buffer(d, R * P * 2);
  const constants = { WG, V, P, SEG };
  const logitsBuf = buffer(d, logits);
  const cnt = counts(d, R, R);
  await dispatch(ctx, 'argmax', constants, [logitsBuf, undefined, cnt, pairs], [P, R], 'partial');
  await dispatch(ctx, 'argmax', constants, [undefined, ids, cnt, pairs], [R]);
  const staging = d.createBuffer({ size: ids.size, usage: 0x01 | 0x08 });
  const enc = d.createCommandEncoder();
  enc.copyBufferToBuffer(ids, 0, staging, 0, ids.size);
  d.queue.submit([enc.finish()]);
  await staging.mapAsync(1);
  const got = Array.from(new Uint32Array(staging.getMappedRange().slice(0, R * 4)));
  const want = Array.from({ length: R }, (_, r) => argmax(row(r)));
  assert.deepEqual(want.slice(1), [0, 130, 999, 63, 0], 'the cases are what they claim');
  assert.deepEqual(got, want);
});
