// safetensors reader and writer: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the raw data.
// Offsets are relative to the end of the header. Tensors are read lazily by byte range.

import { closeSync, openSync, writeSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { FileCursor, openForRead, readExact } from './file-cursor.ts';
import { bf16ToFloat, halfToFloat } from './quant.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | string;

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** dtypes the engine turns into f32. */
export const DECODABLE_DTYPES = ['F32', 'F16', 'BF16', 'F64'];

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  byteSize: number;
}

export interface SafetensorsFile {
  path: string;
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Parses and validates the header; no tensor data is read. */
export function readSafetensors(path: string): SafetensorsFile {
  const c = FileCursor.open(path);
  try {
    c.field = 'header length';
    if (c.size < 8)
      c.fail(`file is ${c.size} bytes, too short for a safetensors header; it is truncated or not safetensors`);
    const n = c.u64(c.size - 8, 'header length');
    c.field = 'header';
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(c.utf8(n));
    } catch (e) {
      return c.fail(`not valid JSON (${(e as Error).message}); the file is corrupt`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) c.fail('not a JSON object');
    const dataStart = 8 + n;
    const dataSize = c.size - dataStart;
    const tensors = new Map<string, SafetensorsTensor>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      c.field = `tensor ${name}`;
      const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const size = DTYPE_BYTES[t?.dtype as string];
      if (size === undefined) return c.fail(`unknown dtype ${JSON.stringify(t?.dtype)}; the file is corrupt`);
      const shape = t.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
        c.fail('shape is not a list of sizes');
      const off = t.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0)) {
        c.fail('data_offsets is not [begin, end]');
      }
      const [begin, end] = off as [number, number];
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      if (end - begin !== count * size) {
        c.fail(
          `data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] of ${t.dtype} needs ${count * size}`,
        );
      }
      if (end > dataSize) {
        c.fail(
          `data ends at byte ${dataStart + end} but the file has ${c.size}; the file is truncated, download it again`,
        );
      }
      tensors.set(name, {
        name,
        dtype: t.dtype as string,
        shape: shape as number[],
        offset: dataStart + begin,
        byteSize: end - begin,
      });
    }
    return { path, tensors, metadata };
  } finally {
    c.close();
  }
}

function decode(t: SafetensorsTensor, bytes: Uint8Array<ArrayBuffer>): Float32Array {
  const count = t.byteSize / DTYPE_BYTES[t.dtype]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case 'BF16':
      for (let i = 0; i < count; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true));
      return out;
    default:
      throw new Error(`decode: dtype ${t.dtype} is not decodable`);
  }
}

export function assertDecodableDtype(file: SafetensorsFile, t: SafetensorsTensor): void {
  if (!DECODABLE_DTYPES.includes(t.dtype)) {
    throw new BenchError(
      'BAD_CHECKPOINT',
      `${file.path}: tensor ${t.name} has dtype ${t.dtype}, which the engine cannot load (supported: ${DECODABLE_DTYPES.join(', ')}); convert the checkpoint to one of those`,
    );
  }
}

export function readSafetensorsBytes(file: SafetensorsFile, name: string): Uint8Array<ArrayBuffer> {
  const t = file.tensors.get(name);
  if (!t) throw new BenchError('BAD_CHECKPOINT', `${file.path}: tensor ${name} is missing`);
  const { fd } = openForRead(file.path);
  try {
    return readExact(fd, file.path, t.offset, t.byteSize, `tensor ${name}`);
  } finally {
    closeSync(fd);
  }
}

export function readSafetensorsF32(file: SafetensorsFile, name: string): Float32Array {
  const t = file.tensors.get(name);
  if (!t) throw new BenchError('BAD_CHECKPOINT', `${file.path}: tensor ${name} is missing`);
  assertDecodableDtype(file, t);
  return decode(t, readSafetensorsBytes(file, name));
}

export interface SafetensorsOut {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16';
  shape: readonly number[];
  /** Encoded bytes (quantize() with GgmlType.F32/F16/BF16 gives them); called once, while writing. */
  data: () => Uint8Array;
}

/** Writes tensors in the given order; the header is padded with spaces to 8 bytes as the reference library does. */
export function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsOut[],
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let pos = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]!;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + size] };
    pos += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length)
    json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, at + done);
      at += b.length;
    };
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    put(len);
    put(json);
    for (const t of tensors) {
      const bytes = t.data();
      const want = (header[t.name] as { data_offsets: number[] }).data_offsets;
      if (bytes.length !== want[1]! - want[0]!) {
        throw new BenchError(
          'BAD_INPUT',
          `safetensors writer: tensor ${t.name} has ${bytes.length} bytes, expected ${want[1]! - want[0]!}`,
        );
      }
      put(bytes);
    }
  } finally {
    closeSync(fd);
  }
}
