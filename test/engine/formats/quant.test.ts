// Element codecs against values worked out by hand from the IEEE half/bfloat16 formats and ggml's block layouts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GgmlType } from '../../../engine/formats/ggml-types.ts';
import {
  bf16ToFloat,
  dequantize,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  quantize,
} from '../../../engine/formats/quant.ts';

test('half floats', () => {
  const table: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [0.1, 0x2e66], // 0.0999755859375, nearest
    [1 + 2 ** -11, 0x3c00], // halfway: ties to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway: ties to even (up)
    [1e6, 0x7c00], // overflow -> infinity
  ];
  for (const [v, h] of table) assert.equal(floatToHalf(v), h, `f16(${v})`);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x8001), -(2 ** -24));
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('bfloat16', () => {
  assert.equal(floatToBf16(1), 0x3f80);
  assert.equal(floatToBf16(-3.5), 0xc060);
  assert.equal(floatToBf16(1 + 2 ** -8), 0x3f80); // ties to even
  assert.equal(bf16ToFloat(0x4049), 3.140625);
});

test('Q8_0, Q4_0 and Q4_1 blocks', () => {
  // Q8_0: amax 127 gives d = 1, so integers survive exactly; the block is d (f16) then 32 int8.
  const ints = Float32Array.from({ length: 32 }, (_, j) => (j === 5 ? -127 : j * 3 - 40));
  const q8 = quantize(GgmlType.Q8_0, ints);
  assert.deepEqual([q8[0], q8[1], q8.length], [0x00, 0x3c, 34]);
  assert.equal(q8[2 + 5], 0x81); // -127 as int8
  assert.deepEqual(dequantize(GgmlType.Q8_0, q8, 32), ints);
  // Q4_0: the largest-magnitude value -8 gives d = -8 / -8 = 1; q = x + 8; byte j = q[j] | q[j + 16] << 4.
  const x = new Float32Array(32);
  x[0] = -8;
  x[17] = 7;
  const q4 = quantize(GgmlType.Q4_0, x);
  assert.deepEqual(Array.from(q4), [0x00, 0x3c, 0x80, 0xf8, ...new Array(14).fill(0x88)]);
  assert.deepEqual(dequantize(GgmlType.Q4_0, q4, 32), x);
  // Q4_1: min -3, max 12 gives d = 1, m = -3; q = x + 3.
  const y = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 3);
  const q41 = quantize(GgmlType.Q4_1, y);
  assert.deepEqual(Array.from(q41.subarray(0, 6)), [0x00, 0x3c, 0x00, 0xc2, 0x00, 0x11]);
  assert.deepEqual(dequantize(GgmlType.Q4_1, q41, 32), y);
});
