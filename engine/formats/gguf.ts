// GGUF reader (versions 2 and 3): header, typed metadata, tensor infos and lazily read tensor data.
// Spec: ggml/docs/gguf.md. Tensor dims are stored innermost first (ne[0] = row length); `shape` here is the
// PyTorch order (outermost first), so a GGUF [dim, vocab] embedding has shape [vocab, dim].

import { closeSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { FileCursor, openForRead, readExact } from './file-cursor.ts';
import { DECODABLE_TYPES, ggmlByteSize, ggmlTypeInfo, ggmlTypeName } from './ggml-types.ts';
import { dequantize } from './quant.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

export interface GgufArray {
  itemType: number;
  items: GgufNumericArray | boolean[] | string[] | GgufArray[];
}

export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufKv {
  type: number;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** Outermost first: [rows, cols] for a matrix. */
  shape: number[];
  type: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteSize: number;
  count: number;
}

const ARRAY_CTORS: Record<number, { bytes: number; make: (b: ArrayBuffer) => GgufNumericArray }> = {
  0: { bytes: 1, make: (b) => new Uint8Array(b) },
  1: { bytes: 1, make: (b) => new Int8Array(b) },
  2: { bytes: 2, make: (b) => new Uint16Array(b) },
  3: { bytes: 2, make: (b) => new Int16Array(b) },
  4: { bytes: 4, make: (b) => new Uint32Array(b) },
  5: { bytes: 4, make: (b) => new Int32Array(b) },
  6: { bytes: 4, make: (b) => new Float32Array(b) },
  10: { bytes: 8, make: (b) => new BigUint64Array(b) },
  11: { bytes: 8, make: (b) => new BigInt64Array(b) },
  12: { bytes: 8, make: (b) => new Float64Array(b) },
};

function readScalar(c: FileCursor, type: number): number | bigint | boolean | string {
  switch (type) {
    case GgufValueType.UINT8:
      return c.u8();
    case GgufValueType.INT8:
      return c.i8();
    case GgufValueType.UINT16:
      return c.u16();
    case GgufValueType.INT16:
      return c.i16();
    case GgufValueType.UINT32:
      return c.u32();
    case GgufValueType.INT32:
      return c.i32();
    case GgufValueType.FLOAT32:
      return c.f32();
    case GgufValueType.FLOAT64:
      return c.f64();
    case GgufValueType.UINT64:
      return c.u64big();
    case GgufValueType.INT64:
      return c.i64big();
    case GgufValueType.BOOL: {
      const b = c.u8();
      if (b > 1) c.fail(`bool value ${b} is neither 0 nor 1; the file is corrupt`);
      return b === 1;
    }
    case GgufValueType.STRING:
      return c.utf8(c.u64(c.remaining(), 'string length'));
    default:
      return c.fail(`unknown value type ${type}; the file is corrupt or from a newer GGUF version`);
  }
}

function readValue(c: FileCursor, type: number, depth = 0): GgufValue {
  if (type !== GgufValueType.ARRAY) return readScalar(c, type);
  if (depth > 4) c.fail('arrays nested too deeply; the file is corrupt');
  const itemType = c.u32();
  const n = c.u64(c.remaining(), 'array length');
  const typed = ARRAY_CTORS[itemType];
  if (typed) {
    if (n * typed.bytes > c.remaining()) c.fail(`array of ${n} items runs past the end of the file`);
    const raw = c.copy(n * typed.bytes);
    return { itemType, items: typed.make(raw.buffer) };
  }
  if (itemType === GgufValueType.BOOL) {
    const raw = c.bytes(n);
    return { itemType, items: Array.from(raw, (b) => b !== 0) };
  }
  if (itemType === GgufValueType.STRING) {
    const items: string[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = c.utf8(c.u64(c.remaining(), 'string length'));
    return { itemType, items };
  }
  if (itemType === GgufValueType.ARRAY) {
    const items: GgufArray[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = readValue(c, GgufValueType.ARRAY, depth + 1) as GgufArray;
    return { itemType, items };
  }
  return c.fail(`unknown array item type ${itemType}; the file is corrupt`);
}

/** Typed access to GGUF metadata; getters return undefined when absent and fail when the type is wrong. */
export class GgufMetadata {
  constructor(
    readonly path: string,
    readonly kv: Map<string, GgufKv>,
  ) {}

  private bad(key: string, want: string): never {
    throw new BenchError('BAD_CHECKPOINT', `${this.path}: metadata ${key}: expected ${want}; the file is corrupt`);
  }

  has(key: string): boolean {
    return this.kv.has(key);
  }
  string(key: string): string | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value !== 'string') this.bad(key, 'a string');
    return v.value;
  }
  number(key: string): number | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value === 'number') return v.value;
    if (typeof v.value === 'bigint') return Number(v.value);
    return this.bad(key, 'a number');
  }
  bool(key: string): boolean | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value !== 'boolean') this.bad(key, 'a bool');
    return v.value;
  }
  strings(key: string): string[] | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value !== 'object' || v.value.itemType !== GgufValueType.STRING) this.bad(key, 'an array of strings');
    return v.value.items as string[];
  }
  numbers(key: string): ArrayLike<number> | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    const val = v.value;
    if (typeof val !== 'object' || !ARRAY_CTORS[val.itemType]) return this.bad(key, 'an array of numbers');
    const items = val.items;
    if (items instanceof BigInt64Array || items instanceof BigUint64Array) return Array.from(items, Number);
    return items as ArrayLike<number>;
  }
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: GgufMetadata;
  tensors: Map<string, GgufTensorInfo>;
}

/** Parses header, metadata and tensor infos; tensor data stays on disk. */
export function readGguf(path: string): GgufFile {
  const c = FileCursor.open(path);
  try {
    return parse(c);
  } finally {
    c.close();
  }
}

function parse(c: FileCursor): GgufFile {
  const path = c.path;
  c.field = 'magic';
  if (c.size < 8 || c.u32() !== GGUF_MAGIC) c.fail('not a GGUF file (the first 4 bytes are not "GGUF")');
  c.field = 'version';
  const version = c.u32();
  if (version === 1) c.fail('GGUF version 1 is not supported; re-convert the model with a current llama.cpp');
  if (version > 0xffff) c.fail(`version ${version} looks byte-swapped: big-endian GGUF files are not supported`);
  if (version > 3) c.fail(`GGUF version ${version} is newer than this reader (2 and 3)`);
  c.field = 'tensor count';
  const nTensors = c.u64(c.remaining(), 'tensor count');
  c.field = 'metadata count';
  const nKv = c.u64(c.remaining(), 'metadata count');
  const kv = new Map<string, GgufKv>();
  for (let i = 0; i < nKv; i++) {
    c.field = `metadata entry ${i} key`;
    const key = c.utf8(c.u64(c.remaining(), 'key length'));
    c.field = `metadata ${key}`;
    const type = c.u32();
    if (kv.has(key)) c.fail('duplicate key; the file is corrupt');
    kv.set(key, { type, value: readValue(c, type) });
  }
  const metadata = new GgufMetadata(path, kv);
  const alignment = metadata.number('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    c.field = 'metadata general.alignment';
    c.fail(`alignment ${alignment} is not a positive multiple of 8`);
  }
  const infos: { name: string; dims: number[]; type: number; rel: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    c.field = `tensor info ${i} name`;
    const name = c.utf8(c.u64(c.remaining(), 'name length'));
    c.field = `tensor ${name}`;
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) c.fail(`has ${nDims} dimensions (1 to 4 allowed); the file is corrupt`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64(Number.MAX_SAFE_INTEGER, 'dimension'));
    const type = c.u32();
    const rel = c.u64(Number.MAX_SAFE_INTEGER, 'data offset');
    infos.push({ name, dims, type, rel });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of infos) {
    c.field = `tensor ${t.name}`;
    if (tensors.has(t.name)) c.fail('appears twice; the file is corrupt');
    const count = t.dims.reduce((a, b) => a * b, 1);
    const info = ggmlTypeInfo(t.type);
    if (!info) c.fail(`has unknown ggml type ${t.type}; the file is corrupt or needs a newer reader`);
    const byteSize = ggmlByteSize(t.type, count);
    if (byteSize === undefined || t.dims[0]! % info.blockSize !== 0) {
      c.fail(`row length ${t.dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
    }
    if (t.rel % alignment !== 0) c.fail(`data offset ${t.rel} is not aligned to ${alignment}; the file is corrupt`);
    const offset = dataOffset + t.rel;
    if (offset + byteSize > c.size) {
      c.fail(
        `data [${offset}, ${offset + byteSize}) runs past the end of the file (${c.size} bytes); the file is truncated, download it again`,
      );
    }
    tensors.set(t.name, { name: t.name, shape: [...t.dims].reverse(), type: t.type, offset, byteSize, count });
  }
  return { path, version, alignment, dataOffset, metadata, tensors };
}

/** The stored bytes of one tensor (quantized blocks stay as they are). */
export function readTensorBytes(file: GgufFile, name: string): Uint8Array {
  const t = file.tensors.get(name);
  if (!t) throw new BenchError('BAD_CHECKPOINT', `${file.path}: tensor ${name} is missing`);
  const { fd } = openForRead(file.path);
  try {
    return readExact(fd, file.path, t.offset, t.byteSize, `tensor ${name}`);
  } finally {
    closeSync(fd);
  }
}

/** Fails unless the engine can decode the tensor's type. */
export function assertDecodable(file: GgufFile, t: GgufTensorInfo): void {
  if (!DECODABLE_TYPES.includes(t.type)) {
    const known = DECODABLE_TYPES.map(ggmlTypeName).join(', ');
    throw new BenchError(
      'BAD_CHECKPOINT',
      `${file.path}: tensor ${t.name} has type ${ggmlTypeName(t.type)}, which the engine cannot load (supported: ${known}); re-quantize the model to one of those`,
    );
  }
}

/** One tensor's values as f32 (dequantized). */
export function readTensorF32(file: GgufFile, name: string): Float32Array {
  const t = file.tensors.get(name);
  if (!t) throw new BenchError('BAD_CHECKPOINT', `${file.path}: tensor ${name} is missing`);
  assertDecodable(file, t);
  return dequantize(t.type, readTensorBytes(file, name), t.count);
}
