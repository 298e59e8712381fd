// safetensors: write -> read round trips, the header layout, and one clear error per corrupt/unsupported file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgmlType } from '../../../engine/formats/ggml-types.ts';
import { quantize } from '../../../engine/formats/quant.ts';
import { readSafetensors, readSafetensorsF32, writeSafetensors } from '../../../engine/formats/safetensors.ts';
import { expectError } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'st-test-'));
const a = Float32Array.of(1, -2, 0.5, 3, 1e-3, -65504);

test('tensors of each float dtype round-trip and the header is what the format says', () => {
  const path = join(dir, 'rt.safetensors');
  writeSafetensors(
    path,
    [
      { name: 'a', dtype: 'F32', shape: [2, 3], data: () => quantize(GgmlType.F32, a) },
      { name: 'b', dtype: 'F16', shape: [6], data: () => quantize(GgmlType.F16, a) },
      { name: 'c', dtype: 'BF16', shape: [3, 2], data: () => quantize(GgmlType.BF16, a) },
    ],
    { note: 'hi' },
  );
  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  assert.equal(n % 8, 0, 'header padded to 8 bytes');
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
  assert.deepEqual(header.a, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header.b.data_offsets, [24, 36]);
  assert.deepEqual(header.__metadata__, { note: 'hi' });
  assert.equal(raw.length, 8 + n + 24 + 12 + 12);
  const f = readSafetensors(path);
  assert.deepEqual(f.metadata, { note: 'hi' });
  assert.deepEqual(readSafetensorsF32(f, 'a'), a);
  assert.deepEqual(Array.from(readSafetensorsF32(f, 'b')), [1, -2, 0.5, 3, 0.0010004043579101562, -65504]);
  assert.deepEqual(Array.from(readSafetensorsF32(f, 'c')), [1, -2, 0.5, 3, 0.00099945068359375, -65536]);
});

function fileWithHeader(name: string, header: unknown, dataBytes: number, lengthOverride?: number): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(lengthOverride ?? json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

test('bad safetensors files give one clear error each', () => {
  const t = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };
  expectError(
    () => readSafetensors(fileWithHeader('cut.safetensors', { w: t }, 10)),
    'BAD_CHECKPOINT',
    /cut\.safetensors: tensor w: .*truncated/,
  );
  expectError(
    () => readSafetensors(fileWithHeader('json.safetensors', '{"w": {', 0)),
    'BAD_CHECKPOINT',
    /json\.safetensors: header: not valid JSON/,
  );
  expectError(
    () => readSafetensors(fileWithHeader('len.safetensors', { w: t }, 16, 9999)),
    'BAD_CHECKPOINT',
    /len\.safetensors: header length: .*truncated or corrupt/,
  );
  expectError(
    () => readSafetensors(fileWithHeader('size.safetensors', { w: { ...t, data_offsets: [0, 12] } }, 16)),
    'BAD_CHECKPOINT',
    /size\.safetensors: tensor w: data_offsets \[0, 12\] hold 12 bytes, shape \[2,2\] of F32 needs 16/,
  );
  expectError(
    () => readSafetensors(fileWithHeader('dtype.safetensors', { w: { ...t, dtype: 'Q4' } }, 16)),
    'BAD_CHECKPOINT',
    /dtype\.safetensors: tensor w: unknown dtype "Q4"/,
  );
  expectError(
    () => readSafetensors(fileWithHeader('tiny.safetensors', '', 0).replace(/$/, '')),
    'BAD_CHECKPOINT',
    /tiny\.safetensors: header/,
  );
  const ints = readSafetensors(
    fileWithHeader('i8.safetensors', { w: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }, 4),
  );
  expectError(
    () => readSafetensorsF32(ints, 'w'),
    'BAD_CHECKPOINT',
    /i8\.safetensors: tensor w has dtype I8, which the engine cannot load \(supported: F32, F16, BF16/,
  );
  const short = join(dir, 'short.safetensors');
  writeFileSync(short, Buffer.alloc(5));
  expectError(() => readSafetensors(short), 'BAD_CHECKPOINT', /short\.safetensors: header length: file is 5 bytes/);
});
