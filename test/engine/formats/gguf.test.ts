// GGUF: metadata of every value type and tensors of every supported type survive write -> read; corrupt,
// truncated and unsupported files each give one BenchError naming the file, the field or tensor, and the cause.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ErrorCode } from '../../../engine/errors.ts';
import { type GgufOutType, ggufModelMetadata, writeModelGguf } from '../../../engine/formats/convert.ts';
import { GgmlType } from '../../../engine/formats/ggml-types.ts';
import { GgufValueType, readGguf } from '../../../engine/formats/gguf.ts';
import { loadGguf } from '../../../engine/formats/gguf-model.ts';
import { type GgufTensorOut, kv, writeGguf } from '../../../engine/formats/gguf-write.ts';
import { ggufFromCanonical } from '../../../engine/formats/names.ts';
import { quantize } from '../../../engine/formats/quant.ts';
import { tensorShapes } from '../../../engine/model/config.ts';
import { expectError, lcgValues, tinyModel } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-test-'));

test('metadata of every value type round-trips, with a non-default alignment', () => {
  const path = join(dir, 'meta.gguf');
  const nested = {
    itemType: GgufValueType.ARRAY,
    items: [{ itemType: GgufValueType.INT16, items: Int16Array.of(-2, 3) }],
  };
  const entries: [string, { type: number; value: never }][] = [];
  const put = (k: string, type: number, value: unknown) => entries.push([k, { type, value: value as never }]);
  put('u8', GgufValueType.UINT8, 200);
  put('i8', GgufValueType.INT8, -100);
  put('u16', GgufValueType.UINT16, 60000);
  put('i16', GgufValueType.INT16, -30000);
  put('u32', GgufValueType.UINT32, 4000000000);
  put('i32', GgufValueType.INT32, -2000000000);
  put('f32', GgufValueType.FLOAT32, 1.5);
  put('f64', GgufValueType.FLOAT64, Math.PI);
  put('u64', GgufValueType.UINT64, 2n ** 60n);
  put('i64', GgufValueType.INT64, -(2n ** 60n));
  put('bool', GgufValueType.BOOL, true);
  put('str', GgufValueType.STRING, 'héllo ▁ 🦙');
  put('strs', GgufValueType.ARRAY, { itemType: GgufValueType.STRING, items: ['a', '', 'ü'] });
  put('f32s', GgufValueType.ARRAY, { itemType: GgufValueType.FLOAT32, items: Float32Array.of(0.5, -2) });
  put('bools', GgufValueType.ARRAY, { itemType: GgufValueType.BOOL, items: [true, false] });
  put('nested', GgufValueType.ARRAY, nested);
  const data = Float32Array.of(1, 2, 3, 4, 5, 6);
  writeGguf(
    path,
    entries,
    [{ name: 't', shape: [2, 3], type: GgmlType.F32, data: () => quantize(GgmlType.F32, data) }],
    64,
  );
  const f = readGguf(path);
  assert.equal(f.version, 3);
  assert.equal(f.alignment, 64);
  assert.equal(f.dataOffset % 64, 0);
  for (const [k, v] of entries) assert.deepEqual(f.metadata.kv.get(k), v, k);
  assert.deepEqual(f.tensors.get('t')?.shape, [2, 3]);
  assert.equal(f.metadata.number('u64'), 2 ** 60);
  assert.deepEqual(f.metadata.strings('strs'), ['a', '', 'ü']);
  expectError(() => f.metadata.string('u32'), 'BAD_CHECKPOINT', /meta\.gguf: metadata u32: expected a string/);
});

/** Largest |a - b| over two arrays. */
function maxErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Largest per-block error each type may make (its own rounding), given the block's values. */
const bound: Record<GgufOutType, (block: Float32Array) => number> = {
  f32: () => 0,
  f16: (b) => Math.max(...b.map(Math.abs)) * 2 ** -11,
  bf16: (b) => Math.max(...b.map(Math.abs)) * 2 ** -8,
  q8_0: (b) => (Math.max(...b.map(Math.abs)) / 127) * (0.5 + 127 * 2 ** -11), // round(x/d), then d rounded to f16
  q4_0: (b) => (Math.max(...b.map(Math.abs)) / 8) * 1.01,
  q4_1: (b) => ((Math.max(...b) - Math.min(...b)) / 15) * 0.51 + Math.max(...b.map(Math.abs)) * 2 ** -10,
};

for (const type of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1'] as GgufOutType[]) {
  test(`a model written as GGUF ${type} reloads within the type's own rounding`, () => {
    const src = tinyModel();
    const path = join(dir, `tiny-${type}.gguf`);
    writeModelGguf(path, src, type);
    const m = loadGguf(path);
    assert.deepEqual(m.config, { ...src.config, normEps: Math.fround(1e-5) });
    assert.equal(m.info.name, 'tiny-test');
    for (const [name, shape] of tensorShapes(src.config)) {
      const want = src.tensor(name).read();
      const got = m.tensor(name).read();
      assert.deepEqual(m.tensor(name).shape, shape);
      const quantized = shape.length === 2 && type !== 'f32';
      assert.equal(m.tensorType(name), shape.length === 1 ? GgmlType.F32 : m.tensorType(name));
      if (!quantized) {
        if (shape.length === 1) assert.deepEqual(got, want, name);
        continue;
      }
      for (let b = 0; b < want.length; b += 32) {
        const blk = want.subarray(b, b + 32);
        assert.ok(maxErr(blk, got.subarray(b, b + 32)) <= bound[type](blk) + 1e-7, `${name} block ${b / 32}`);
      }
    }
    if (type === 'f32') assert.deepEqual(m.tensor('layers.1.w2').read(), src.tensor('layers.1.w2').read());
    for (const text of ['hello abc', ' ab  c', 'ü?'])
      assert.deepEqual(m.tokenizer.encode(text), src.tokenizer.encode(text));
  });
}

test('raw block access: types and bytes as stored', () => {
  const path = join(dir, 'tiny-q8_0.gguf');
  writeModelGguf(path, tinyModel(), 'q8_0');
  const m = loadGguf(path);
  assert.equal(m.tensorType('layers.0.wq'), GgmlType.Q8_0);
  assert.equal(m.tensorType('norm'), GgmlType.F32);
  assert.equal(m.tensorBytes('layers.0.wq').length, (32 * 32 * 34) / 32);
});

test('a half-layout model is permuted into the interleaved layout GGUF llama files use', () => {
  const src = tinyModel({ ropeLayout: 'half' });
  const path = join(dir, 'tiny-half.gguf');
  writeModelGguf(path, src, 'f32');
  const m = loadGguf(path);
  assert.equal(m.config.ropeLayout, 'interleaved');
  const cols = 32;
  const row = (w: Float32Array, r: number) => Array.from(w.subarray(r * cols, (r + 1) * cols));
  const before = src.tensor('layers.0.wk').read();
  const after = m.tensor('layers.0.wk').read();
  // head dim 8: interleaved row 2j+t of a head is half-layout row t*4+j.
  assert.deepEqual(row(after, 0), row(before, 0));
  assert.deepEqual(row(after, 1), row(before, 4));
  assert.deepEqual(row(after, 2), row(before, 1));
  assert.deepEqual(row(after, 8 + 7), row(before, 8 + 7));
  assert.deepEqual(row(after, 8 + 6), row(before, 8 + 3));
});

/** Writes a tiny model with tensors and metadata edited by `edit`. */
function writeEdited(name: string, edit: (md: Map<string, unknown>, tensors: GgufTensorOut[]) => void): string {
  const model = tinyModel();
  const md = new Map(ggufModelMetadata(model, 'f32')) as Map<string, unknown>;
  const tensors: GgufTensorOut[] = [...tensorShapes(model.config)].map(([n, shape]) => ({
    name: ggufFromCanonical(n),
    shape,
    type: GgmlType.F32,
    data: () =>
      quantize(
        GgmlType.F32,
        lcgValues(
          n,
          shape.reduce((a, b) => a * b, 1),
        ),
      ),
  }));
  edit(md, tensors);
  const path = join(dir, name);
  writeGguf(path, md as never, tensors);
  return path;
}

test('bad GGUF files give one clear error each', () => {
  const good = writeEdited('good.gguf', () => {});
  const bytes = readFileSync(good);
  const variant = (name: string, b: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };
  const v1 = Uint8Array.from(bytes);
  v1[4] = 1;
  const cases: [string, ErrorCode, RegExp[]][] = [
    [
      variant('magic.gguf', Buffer.from('GGML and more bytes')),
      'BAD_CHECKPOINT',
      [/magic.gguf: magic: not a GGUF file/],
    ],
    [variant('v1.gguf', v1), 'BAD_CHECKPOINT', [/v1\.gguf: version: GGUF version 1 is not supported/]],
    [variant('cut-meta.gguf', bytes.subarray(0, 200)), 'BAD_CHECKPOINT', [/cut-meta\.gguf: metadata .*truncated/]],
    [
      variant('cut-data.gguf', bytes.subarray(0, bytes.length - 40)),
      'BAD_CHECKPOINT',
      [/cut-data\.gguf: tensor output\.weight: .*truncated/],
    ],
    [
      writeEdited('q5.gguf', (_, t) => {
        t[1] = { ...t[1]!, type: GgmlType.Q5_0, data: () => new Uint8Array((32 / 32) * 22) };
      }),
      'BAD_CHECKPOINT',
      [/q5\.gguf: tensor blk\.0\.attn_norm\.weight has type Q5_0, which the engine cannot load/, /Q8_0/],
    ],
    [
      writeEdited('shape.gguf', (md) => md.set('llama.feed_forward_length', kv.u32(96))),
      'BAD_CHECKPOINT',
      [/shape\.gguf: tensor blk\.0\.ffn_gate\.weight: shape \[64,32\] does not match the metadata's \[96,32\]/],
    ],
    [
      writeEdited('arch.gguf', (md) => md.set('general.architecture', kv.str('gpt2'))),
      'UNSUPPORTED',
      [/arch\.gguf: general\.architecture: "gpt2" is not a Llama-family architecture .*llama/],
    ],
    [
      writeEdited('missing.gguf', (_, t) =>
        t.splice(
          t.findIndex((x) => x.name === 'blk.1.ffn_up.weight'),
          1,
        ),
      ),
      'BAD_CHECKPOINT',
      [/missing\.gguf: tensor blk\.1\.ffn_up\.weight: missing/],
    ],
    [
      writeEdited('bias.gguf', (_, t) =>
        t.push({ name: 'blk.0.attn_q.bias', shape: [32], type: GgmlType.F32, data: () => new Uint8Array(128) }),
      ),
      'UNSUPPORTED',
      [/bias\.gguf: tensor blk\.0\.attn_q\.bias: has no place/],
    ],
    [
      writeEdited('scaling.gguf', (md) => md.set('llama.rope.scaling.type', kv.str('yarn'))),
      'UNSUPPORTED',
      [/scaling\.gguf: llama\.rope\.scaling\.type: RoPE scaling "yarn" is not implemented/],
    ],
    [
      writeEdited('notok.gguf', (md) => md.delete('tokenizer.ggml.model')),
      'BAD_TOKENIZER',
      [/notok\.gguf: tokenizer\.ggml\.model: missing/],
    ],
  ];
  for (const [path, code, patterns] of cases) expectError(() => loadGguf(path), code, ...patterns);
  // A metadata value of a type GGUF does not define.
  const odd = Buffer.alloc(4 + 4 + 8 + 8 + 8 + 1 + 4);
  odd.write('GGUF', 0, 'latin1');
  odd.writeUInt32LE(3, 4);
  odd.writeBigUInt64LE(0n, 8);
  odd.writeBigUInt64LE(1n, 16);
  odd.writeBigUInt64LE(1n, 24);
  odd.write('k', 32, 'latin1');
  odd.writeUInt32LE(99, 33);
  expectError(
    () => readGguf(variant('odd.gguf', odd)),
    'BAD_CHECKPOINT',
    /odd\.gguf: metadata k: unknown value type 99/,
  );
  expectError(() => loadGguf(join(dir, 'nope.gguf')), 'FILE_NOT_FOUND', /nope\.gguf/);
});
