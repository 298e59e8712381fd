// GGUF v3 writer: metadata, tensor infos, then each tensor's bytes at an aligned offset. Tensor data is pulled
// one tensor at a time through a callback, so converting a large model never holds more than one tensor.

import { closeSync, openSync, writeSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { ggmlByteSize, ggmlTypeInfo, ggmlTypeName } from './ggml-types.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, type GgufArray, type GgufKv, GgufValueType as T } from './gguf.ts';

export interface GgufTensorOut {
  name: string;
  /** Outermost first, as GgufTensorInfo.shape. */
  shape: readonly number[];
  type: number;
  /** The encoded bytes (quantize() output); called once, while writing. */
  data: () => Uint8Array;
}

/** Shorthands for metadata values with their GGUF types. */
export const kv = {
  str: (value: string): GgufKv => ({ type: T.STRING, value }),
  u32: (value: number): GgufKv => ({ type: T.UINT32, value }),
  i32: (value: number): GgufKv => ({ type: T.INT32, value }),
  f32: (value: number): GgufKv => ({ type: T.FLOAT32, value }),
  bool: (value: boolean): GgufKv => ({ type: T.BOOL, value }),
  strs: (items: string[]): GgufKv => ({ type: T.ARRAY, value: { itemType: T.STRING, items } }),
  f32s: (items: Float32Array): GgufKv => ({ type: T.ARRAY, value: { itemType: T.FLOAT32, items } }),
  i32s: (items: Int32Array): GgufKv => ({ type: T.ARRAY, value: { itemType: T.INT32, items } }),
};

/** Growable little-endian byte sink for the header. */
class Sink {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  n = 0;
  private readonly enc = new TextEncoder();

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.n, v);
    this.n += 1;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.n, v, true);
    this.n += 4;
  }
  u64(v: number | bigint): void {
    this.room(8);
    this.view.setBigUint64(this.n, BigInt(v), true);
    this.n += 8;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  str(s: string): void {
    const b = this.enc.encode(s);
    this.u64(b.length);
    this.raw(b);
  }
  scalar(type: number, v: unknown): void {
    this.room(8);
    const d = this.view;
    const o = this.n;
    switch (type) {
      case T.UINT8:
        d.setUint8(o, v as number);
        this.n += 1;
        return;
      case T.INT8:
        d.setInt8(o, v as number);
        this.n += 1;
        return;
      case T.UINT16:
        d.setUint16(o, v as number, true);
        this.n += 2;
        return;
      case T.INT16:
        d.setInt16(o, v as number, true);
        this.n += 2;
        return;
      case T.UINT32:
        d.setUint32(o, v as number, true);
        this.n += 4;
        return;
      case T.INT32:
        d.setInt32(o, v as number, true);
        this.n += 4;
        return;
      case T.FLOAT32:
        d.setFloat32(o, v as number, true);
        this.n += 4;
        return;
      case T.FLOAT64:
        d.setFloat64(o, v as number, true);
        this.n += 8;
        return;
      case T.UINT64:
        d.setBigUint64(o, BigInt(v as number | bigint), true);
        this.n += 8;
        return;
      case T.INT64:
        d.setBigInt64(o, BigInt(v as number | bigint), true);
        this.n += 8;
        return;
      case T.BOOL:
        d.setUint8(o, v ? 1 : 0);
        this.n += 1;
        return;
      case T.STRING:
        this.str(v as string);
        return;
      default:
        throw new Error(`GGUF writer: unknown value type ${type}`);
    }
  }
  value(type: number, v: GgufKv['value']): void {
    if (type !== T.ARRAY) {
      this.scalar(type, v);
      return;
    }
    const arr = v as GgufArray;
    const items = arr.items as ArrayLike<unknown>;
    this.u32(arr.itemType);
    this.u64(items.length);
    for (let i = 0; i < items.length; i++) {
      if (arr.itemType === T.ARRAY) this.value(T.ARRAY, items[i] as GgufArray);
      else this.scalar(arr.itemType, items[i]);
    }
  }
}

export function writeGguf(
  path: string,
  metadata: Iterable<readonly [string, GgufKv]>,
  tensors: readonly GgufTensorOut[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): void {
  const entries = [...metadata].filter(([k]) => k !== 'general.alignment');
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) entries.push(['general.alignment', kv.u32(alignment)]);
  const s = new Sink();
  s.u32(GGUF_MAGIC);
  s.u32(3);
  s.u64(tensors.length);
  s.u64(entries.length);
  for (const [key, v] of entries) {
    s.str(key);
    s.u32(v.type);
    s.value(v.type, v.value);
  }
  const align = (x: number) => Math.ceil(x / alignment) * alignment;
  const sizes: number[] = [];
  let rel = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const size = ggmlByteSize(t.type, count);
    if (size === undefined || t.shape.at(-1)! % (ggmlTypeInfo(t.type)?.blockSize ?? 1) !== 0) {
      throw new BenchError(
        'BAD_INPUT',
        `GGUF writer: tensor ${t.name} [${t.shape}] cannot be stored as ${ggmlTypeName(t.type)}`,
      );
    }
    s.str(t.name);
    s.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) s.u64(d);
    s.u32(t.type);
    s.u64(rel);
    sizes.push(size);
    rel = align(rel + size);
  }
  const fd = openSync(path, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(s.buf.subarray(0, s.n));
    put(new Uint8Array(align(pos) - pos));
    tensors.forEach((t, i) => {
      const bytes = t.data();
      if (bytes.length !== sizes[i]) {
        throw new BenchError(
          'BAD_INPUT',
          `GGUF writer: tensor ${t.name} has ${bytes.length} bytes, expected ${sizes[i]}`,
        );
      }
      put(bytes);
      put(new Uint8Array(align(pos) - pos));
    });
  } finally {
    closeSync(fd);
  }
}
