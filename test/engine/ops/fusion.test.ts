// The fused matrices' row layouts (engine/ops/fusion.ts): stacked QKV, interleaved gate/up, and the layer's linears.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fusedLinears, fuseRows, layerLinears, rowSpans } from '../../../engine/ops/fusion.ts';

test('wqkv stacks wq, wk, wv; w13 interleaves w1 and w3 row by row', () => {
  // Rows of 2 columns whose values name their part and row: 10 * part + row.
  const part = (p: number, rows: number) => Float32Array.from({ length: 2 * rows }, (_, i) => 10 * p + (i >> 1));
  const rowsOf = (m: Float32Array) => Array.from({ length: m.length / 2 }, (_, r) => m[2 * r]);
  assert.deepEqual(rowsOf(fuseRows([part(1, 3), part(2, 1), part(3, 1)], 2, false)), [10, 11, 12, 20, 30]);
  assert.deepEqual(rowsOf(fuseRows([part(1, 3), part(3, 3)], 2, true)), [10, 30, 11, 31, 12, 32]);
  assert.deepEqual(rowSpans([3, 1], false), [
    { part: 0, from: 0, to: 0, count: 3 },
    { part: 1, from: 0, to: 3, count: 1 },
  ]);
  assert.throws(() => rowSpans([3, 2], true), /equal rows/);
});

test('a layer runs wqkv, wo, w13, w2 fused and its seven matrices unfused', () => {
  const { wqkv, w13 } = fusedLinears(2);
  assert.deepEqual(wqkv.parts, ['layers.2.wq', 'layers.2.wk', 'layers.2.wv']);
  assert.deepEqual(w13.parts, ['layers.2.w1', 'layers.2.w3']);
  const names = (fuse: boolean) => layerLinears(2, fuse).map((f) => f.name.replace('layers.2.', ''));
  assert.deepEqual(names(true), ['wqkv', 'wo', 'w13', 'w2']);
  assert.deepEqual(names(false), ['wq', 'wk', 'wv', 'wo', 'w1', 'w3', 'w2']);
});
