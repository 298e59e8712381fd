import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attention, matmul, rmsnorm, rope, softmax, swiglu } from '../../../engine/reference/ops.ts';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  assert.equal(a.length, b.length);
  b.forEach((v, i) => {
    assert.ok(Math.abs(a[i]! - v) <= tol, `[${i}] ${a[i]} vs ${v}`);
  });
};

// cos/sin of 1 and 0.01 rad, written out (from a table, not computed by the code under test).
const C1 = 0.5403023058681398;
const S1 = 0.8414709848078965;
const C01 = 0.9999500004166653;
const S01 = 0.009999833334166664;

test('rope interleaved rotates (x[2i], x[2i+1]) by pos * theta^(-2i/d)', () => {
  // headDim 4, theta 10000, position 1: pair 0 turns by 1 rad, pair 1 by 10000^(-1/2) = 0.01 rad.
  const out = rope(Float64Array.of(1, 2, 3, 4), 1, 4, 1, 10000, 'interleaved');
  close(out, [1 * C1 - 2 * S1, 1 * S1 + 2 * C1, 3 * C01 - 4 * S01, 3 * S01 + 4 * C01]);
});

test('rope half rotates (x[i], x[i+d/2])', () => {
  const out = rope(Float64Array.of(1, 2, 3, 4), 1, 4, 1, 10000, 'half');
  close(out, [1 * C1 - 3 * S1, 2 * C01 - 4 * S01, 1 * S1 + 3 * C1, 2 * S01 + 4 * C01]);
});

test('rope: position 0 is the identity; rows take startPos + t or explicit positions; heads rotate alike', () => {
  const x = Float64Array.of(1, 2, 3, 4, 1, 2, 3, 4);
  close(rope(x, 1, 4, 0, 10000, 'half').subarray(0, 4), [1, 2, 3, 4]);
  const byStart = rope(x, 1, 4, 0, 10000, 'interleaved'); // rows at positions 0 and 1
  const byList = rope(x, 1, 4, [0, 1], 10000, 'interleaved');
  close(byStart, Array.from(byList));
  close(byStart.subarray(4), [1 * C1 - 2 * S1, 1 * S1 + 2 * C1, 3 * C01 - 4 * S01, 3 * S01 + 4 * C01]);
  const twoHeads = rope(x, 2, 4, 1, 10000, 'interleaved'); // one row, two heads
  close(twoHeads.subarray(0, 4), Array.from(twoHeads.subarray(4)));
});

test('rmsnorm and matmul on hand values', () => {
  // rows [3, 4] and [0, 2]: mean squares 12.5 and 2.
  close(rmsnorm(Float32Array.of(3, 4, 0, 2), Float32Array.of(1, 2), 0), [
    3 / Math.sqrt(12.5),
    8 / Math.sqrt(12.5),
    0,
    4 / Math.sqrt(2),
  ]);
  // x [2, 3] times w [2, 3]^T.
  const x = Float32Array.of(1, 2, 3, 4, 5, 6);
  const w = Float32Array.of(1, 0, -1, 2, 1, 0);
  close(matmul(x, w, 2, 2, 3), [-2, 4, -2, 13]);
});

test('softmax and swiglu on hand values', () => {
  const e = Math.E;
  close(softmax([0, 1, Number.NEGATIVE_INFINITY]), [1 / (1 + e), e / (1 + e), 0]);
  close(softmax(Float64Array.of(1000, 1000)), [0.5, 0.5]); // no overflow
  close(swiglu(Float64Array.of(0, 2), Float64Array.of(5, 3)), [0, (2 / (1 + Math.exp(-2))) * 3]);
});

test('attention: GQA maps q head h to kv head floor(h / (nHeads / nKvHeads))', () => {
  // 4 q heads, 2 kv heads of size 2, one position: each head's output is its kv head's value.
  const q = Float64Array.of(1, 0, 0, 1, 1, 1, -1, 0);
  const k = Float64Array.of(0.3, 0.1, -2, 5);
  const v = Float64Array.of(10, 11, 20, 21);
  const out = attention(q, k, v, { nHeads: 4, nKvHeads: 2, headDim: 2, startPos: 0 });
  close(out, [10, 11, 10, 11, 20, 21, 20, 21]);
  // MQA: every head reads the one kv head.
  const mqa = attention(q, k.subarray(0, 2), v.subarray(0, 2), { nHeads: 4, nKvHeads: 1, headDim: 2, startPos: 0 });
  close(mqa, [10, 11, 10, 11, 10, 11, 10, 11]);
});

test('attention is causal and weights by softmax(q.k / sqrt(d))', () => {
  // One head of size 2, cache of 3 positions, two queries at positions 1 and 2.
  const k = Float64Array.of(1, 0, 0, 1, 1, 1);
  const v = Float64Array.of(1, 0, 0, 1, 5, 5);
  const q = Float64Array.of(0, 0, Math.SQRT2, 0); // row 0: all-equal scores; row 1: scores 1, 0, 1
  const out = attention(q, k, v, { nHeads: 1, nKvHeads: 1, headDim: 2, startPos: 1 });
  // Row 0 sees positions 0..1 equally (position 2 is in the future).
  const e = Math.E;
  const z = 2 * e + 1;
  close(out, [0.5, 0.5, (e * 1 + 1 * 0 + e * 5) / z, (e * 0 + 1 * 1 + e * 5) / z]);
});
