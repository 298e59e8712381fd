// Sequential little-endian reads from a file through a sliding window, so a header or metadata block can be parsed
// without reading a multi-GB checkpoint into memory. Every read that runs past the end of the file raises one
// BAD_CHECKPOINT error naming the file and the field being read.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BenchError } from '../errors.ts';

const WINDOW = 1 << 20;
const utf8 = new TextDecoder('utf-8');

export function openForRead(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new BenchError('FILE_NOT_FOUND', `cannot open ${path}: ${(e as Error).message}; check the path`, {
      cause: e,
    });
  }
  return { fd, size: fstatSync(fd).size };
}

/** Reads exactly `length` bytes at `offset`; a short read means the file shrank or is truncated. */
export function readExact(
  fd: number,
  path: string,
  offset: number,
  length: number,
  what: string,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    // readSync takes at most 2 GiB per call; big tensors are read in 1 GiB pieces.
    const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
    if (n === 0) {
      throw new BenchError(
        'BAD_CHECKPOINT',
        `${path}: ${what}: file ends at byte ${offset + done}, ${length - done} more bytes expected; the file is truncated, download or convert it again`,
      );
    }
    done += n;
  }
  return out;
}

export class FileCursor {
  readonly path: string;
  readonly size: number;
  private readonly fd: number;
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0; // file offset of buf[0]
  pos = 0; // absolute file offset
  /** Names the field being parsed, for error messages. */
  field = 'header';

  constructor(fd: number, path: string, size: number) {
    this.fd = fd;
    this.path = path;
    this.size = size;
  }

  static open(path: string): FileCursor {
    const { fd, size } = openForRead(path);
    return new FileCursor(fd, path, size);
  }

  close(): void {
    closeSync(this.fd);
  }

  fail(cause: string): never {
    throw new BenchError('BAD_CHECKPOINT', `${this.path}: ${this.field}: ${cause}`);
  }

  private ensure(n: number): number {
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    if (this.pos + n > this.size) {
      this.fail(
        `file ends at byte ${this.size}, needs ${this.pos + n}; the file is truncated or corrupt, download or convert it again`,
      );
    }
    const len = Math.min(Math.max(n, WINDOW), this.size - this.pos);
    this.buf = readExact(this.fd, this.path, this.pos, len, this.field);
    this.view = new DataView(this.buf.buffer);
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number {
    const r = this.ensure(1);
    this.pos += 1;
    return this.buf[r]!;
  }
  i8(): number {
    const r = this.ensure(1);
    this.pos += 1;
    return this.view.getInt8(r);
  }
  u16(): number {
    const r = this.ensure(2);
    this.pos += 2;
    return this.view.getUint16(r, true);
  }
  i16(): number {
    const r = this.ensure(2);
    this.pos += 2;
    return this.view.getInt16(r, true);
  }
  u32(): number {
    const r = this.ensure(4);
    this.pos += 4;
    return this.view.getUint32(r, true);
  }
  i32(): number {
    const r = this.ensure(4);
    this.pos += 4;
    return this.view.getInt32(r, true);
  }
  f32(): number {
    const r = this.ensure(4);
    this.pos += 4;
    return this.view.getFloat32(r, true);
  }
  f64(): number {
    const r = this.ensure(8);
    this.pos += 8;
    return this.view.getFloat64(r, true);
  }
  u64big(): bigint {
    const r = this.ensure(8);
    this.pos += 8;
    return this.view.getBigUint64(r, true);
  }
  i64big(): bigint {
    const r = this.ensure(8);
    this.pos += 8;
    return this.view.getBigInt64(r, true);
  }
  /** A u64 that must fit in a JS number and stay below `max` (a length or count), else the file is corrupt. */
  u64(max: number, what: string): number {
    const v = this.u64big();
    if (v > BigInt(max)) {
      // the field name usually says what the value is already ("tensor count: tensor count ..." reads badly)
      const name = what === this.field ? 'value' : what;
      this.fail(`${name} ${v} exceeds ${max}, the most the rest of the file allows; the file is truncated or corrupt`);
    }
    return Number(v);
  }
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const r = this.ensure(n);
    this.pos += n;
    return this.buf.subarray(r, r + n);
  }
  utf8(n: number): string {
    return utf8.decode(this.bytes(n));
  }
  /** Copies `n` raw bytes (for typed arrays that must outlive the window). */
  copy(n: number): Uint8Array<ArrayBuffer> {
    return this.bytes(n).slice();
  }
  remaining(): number {
    return this.size - this.pos;
  }
}
