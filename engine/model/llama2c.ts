// llama2.c checkpoints (karpathy/llama2.c export.py): v0 "legacy" (7 int32 header) and v1 ("ak42" magic, 256-byte
// header), both f32. Tensors are read lazily, one byte range at a time, so a multi-GB file never sits whole in memory.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorNames } from './config.ts';
import type { TensorSource } from './weights.ts';

export const LLAMA2C_MAGIC = 0x616b3432; // "ak42" as a little-endian u32
const V0_HEADER_BYTES = 28;
const V1_HEADER_BYTES = 256;

/** The seven int32 of both headers, as written (v0 stores an unshared classifier as a negative vocab_size). */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
}

export interface Llama2cCheckpoint {
  path: string;
  version: 0 | 1;
  config: ModelConfig;
  /** Canonical names (config.ts tensorNames) in file order. */
  names: string[];
  tensor(name: string): TensorSource;
}

export function readLlama2cHeader(buf: Buffer, offset: number): Llama2cHeader {
  const i = (k: number) => buf.readInt32LE(offset + 4 * k);
  return { dim: i(0), hiddenDim: i(1), nLayers: i(2), nHeads: i(3), nKvHeads: i(4), vocabSize: i(5), seqLen: i(6) };
}

/** Why a header cannot describe a real model, or undefined when it is plausible (also used to detect v0 files). */
export function llama2cHeaderProblem(h: Llama2cHeader): string | undefined {
  const within = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!within(h.dim, 1, 1 << 16)) return `dim ${h.dim}`;
  if (!within(h.hiddenDim, 1, 1 << 20)) return `hidden_dim ${h.hiddenDim}`;
  if (!within(h.nLayers, 1, 1024)) return `n_layers ${h.nLayers}`;
  if (!within(h.nHeads, 1, h.dim) || h.dim % h.nHeads !== 0) return `n_heads ${h.nHeads} does not divide dim ${h.dim}`;
  if (!within(h.nKvHeads, 1, h.nHeads) || h.nHeads % h.nKvHeads !== 0) {
    return `n_kv_heads ${h.nKvHeads} does not divide n_heads ${h.nHeads}`;
  }
  if ((h.dim / h.nHeads) % 2 !== 0) return `head size ${h.dim / h.nHeads} is odd (RoPE rotates pairs)`;
  if (!within(Math.abs(h.vocabSize), 1, 1 << 22)) return `vocab_size ${h.vocabSize}`;
  if (!within(h.seqLen, 1, 1 << 24)) return `seq_len ${h.seqLen}`;
  return undefined;
}

const describe = (h: Llama2cHeader) =>
  `dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, n_heads ${h.nHeads}, ` +
  `n_kv_heads ${h.nKvHeads}, vocab_size ${h.vocabSize}, seq_len ${h.seqLen}`;

function configOf(h: Llama2cHeader, tied: boolean): ModelConfig {
  return {
    dim: h.dim,
    hiddenDim: h.hiddenDim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    vocabSize: Math.abs(h.vocabSize),
    maxSeqLen: h.seqLen,
    normEps: 1e-5, // llama2.c's model.py default; the format has no field for it
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tiedClassifier: tied,
  };
}

interface Placed {
  offset: number; // bytes from the start of the file
  shape: number[];
}

/** Where every tensor lies and how long the file must be, following export.py's write order for each version. */
export function llama2cLayout(c: ModelConfig, version: 0 | 1): { tensors: Map<string, Placed>; fileBytes: number } {
  const tensors = new Map<string, Placed>();
  let offset = version === 0 ? V0_HEADER_BYTES : V1_HEADER_BYTES;
  const put = (name: string, shape: number[]) => {
    tensors.set(name, { offset, shape });
    offset += 4 * shape.reduce((a, b) => a * b, 1);
  };
  const perLayer = (name: (l: number) => string, shape: number[]) => {
    for (let l = 0; l < c.nLayers; l++) put(name(l), shape);
  };
  const kv = c.nKvHeads * c.headDim;
  const q = c.nHeads * c.headDim;
  const n = tensorNames;
  const attention = () => {
    perLayer(n.wq, [q, c.dim]);
    perLayer(n.wk, [kv, c.dim]);
    perLayer(n.wv, [kv, c.dim]);
    perLayer(n.wo, [c.dim, q]);
  };
  const ffn = () => {
    perLayer(n.w1, [c.hiddenDim, c.dim]);
    perLayer(n.w2, [c.dim, c.hiddenDim]);
    perLayer(n.w3, [c.hiddenDim, c.dim]);
  };
  if (version === 0) {
    put(n.embedding, [c.vocabSize, c.dim]);
    perLayer(n.attnNorm, [c.dim]);
    attention();
    perLayer(n.ffnNorm, [c.dim]);
    ffn();
    put(n.finalNorm, [c.dim]);
    offset += 2 * 4 * c.maxSeqLen * Math.floor(c.headDim / 2); // freq_cis real + imag tables, unused (RoPE is computed)
  } else {
    perLayer(n.attnNorm, [c.dim]);
    perLayer(n.ffnNorm, [c.dim]);
    put(n.finalNorm, [c.dim]);
    put(n.embedding, [c.vocabSize, c.dim]);
    attention();
    ffn();
  }
  if (!c.tiedClassifier) put(n.classifier, [c.vocabSize, c.dim]);
  return { tensors, fileBytes: offset };
}

const bad = (path: string, what: string) =>
  new BenchError('BAD_CHECKPOINT', `${path}: ${what}. Re-export or re-download the checkpoint.`);

/** Opens a llama2.c checkpoint: reads and validates the header and the file size; tensors are read on demand. */
export function openLlama2cCheckpoint(path: string): Llama2cCheckpoint {
  if (endianness() !== 'LE') throw new BenchError('UNSUPPORTED', 'llama2.c checkpoints need a little-endian host');
  const fileBytes = fileSize(path);
  const head = readRange(path, 0, Math.min(fileBytes, V1_HEADER_BYTES));
  if (head.length < V0_HEADER_BYTES) {
    throw bad(path, `${fileBytes} bytes is too short for a llama2.c header (${V0_HEADER_BYTES} bytes at least)`);
  }
  let version: 0 | 1 = 0;
  let header: Llama2cHeader;
  let tied: boolean;
  if (head.readUInt32LE(0) === LLAMA2C_MAGIC) {
    if (head.length < V1_HEADER_BYTES) throw bad(path, `truncated inside the 256-byte llama2.c header`);
    const v = head.readInt32LE(4);
    if (v === 2) {
      throw new BenchError(
        'UNSUPPORTED',
        `${path} is a llama2.c version 2 (int8 Q8_0) checkpoint, which is not supported; ` +
          'export it with export.py --version 1 (f32) or use --quant on an f32 checkpoint',
      );
    }
    if (v !== 1) throw bad(path, `unknown llama2.c checkpoint version ${v} (supported: 0 and 1)`);
    version = 1;
    header = readLlama2cHeader(head, 8);
    const flag = head.readUInt8(36);
    if (flag > 1) throw bad(path, `shared-classifier flag is ${flag}, expected 0 or 1`);
    if (header.vocabSize <= 0) throw bad(path, `vocab_size ${header.vocabSize} in a version 1 header`);
    tied = flag === 1;
  } else {
    header = readLlama2cHeader(head, 0);
    tied = header.vocabSize > 0;
  }
  const problem = llama2cHeaderProblem(header);
  if (problem) throw bad(path, `implausible llama2.c v${version} header (${problem}; ${describe(header)})`);
  const config = configOf(header, tied);
  const layout = llama2cLayout(config, version);
  if (fileBytes !== layout.fileBytes) {
    const what =
      fileBytes < layout.fileBytes
        ? `truncated: expected ${layout.fileBytes} bytes, got ${fileBytes}`
        : `${fileBytes} bytes, but a llama2.c v${version} file with this header has exactly ${layout.fileBytes}`;
    throw bad(path, `${what} (header: ${describe(header)})`);
  }
  return {
    path,
    version,
    config,
    names: [...layout.tensors.keys()],
    tensor(name: string): TensorSource {
      const t = layout.tensors.get(name);
      if (!t) {
        throw new BenchError(
          'RUNTIME',
          `${path} has no tensor "${name}" (it has ${[...layout.tensors.keys()].join(', ')})`,
        );
      }
      return { shape: t.shape, read: () => readF32(path, t.offset, t.shape) };
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new BenchError('FILE_NOT_FOUND', `checkpoint not found: ${path}. Pass a llama2.c .bin file.`);
  }
}

function readF32(path: string, offset: number, shape: readonly number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  readInto(path, offset, new Uint8Array(out.buffer));
  return out;
}

function readRange(path: string, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  readInto(path, offset, b);
  return b;
}

const CHUNK = 1 << 30; // readSync takes at most 2 GiB at once

function readInto(path: string, offset: number, dst: Uint8Array): void {
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < dst.length) {
      const n = readSync(fd, dst, done, Math.min(CHUNK, dst.length - done), offset + done);
      if (n === 0)
        throw bad(path, `file ended at byte ${offset + done} while reading (it changed after it was opened?)`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
