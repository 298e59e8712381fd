// Model format detection from file contents (DESIGN.md: never from file names, which users rename freely).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import { LLAMA2C_MAGIC, llama2cHeaderProblem, readLlama2cHeader } from './llama2c.ts';

export type DetectedFormat = 'llama2c' | 'gguf' | 'safetensors' | 'hf-folder';

export const SUPPORTED_FORMATS =
  'llama2.c .bin (v0 legacy or v1 "ak42"), GGUF, safetensors, or a Hugging Face model folder (config.json + *.safetensors)';

const PROBE_BYTES = 64;

export function detectFormat(path: string): DetectedFormat {
  if (!existsSync(path)) {
    throw new BenchError(
      'FILE_NOT_FOUND',
      `model not found: ${path}. Pass a checkpoint file, a model folder or preset:NAME`,
    );
  }
  const st = statSync(path);
  if (st.isDirectory()) {
    if (existsSync(join(path, 'config.json'))) return 'hf-folder';
    throw new BenchError(
      'BAD_CHECKPOINT',
      `folder ${path} has no config.json, so it is not a Hugging Face model folder. Supported: ${SUPPORTED_FORMATS}`,
    );
  }
  const head = probe(path, Math.min(PROBE_BYTES, st.size));
  const format = formatOf(head, st.size);
  if (format) return format;
  throw new BenchError(
    'BAD_CHECKPOINT',
    `${path} is not a model file this tool can read (${st.size} bytes, starting ${head.subarray(0, 8).toString('hex') || '(empty)'}). ` +
      `Supported: ${SUPPORTED_FORMATS}`,
  );
}

function formatOf(head: Buffer, size: number): DetectedFormat | undefined {
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  if (head.length >= 4 && head.readUInt32LE(0) === LLAMA2C_MAGIC) return 'llama2c';
  // safetensors: u64 little-endian length of a JSON header that follows it
  if (head.length >= 9 && head[8] === 0x7b) {
    const n = head.readBigUInt64LE(0);
    if (n >= 2n && 8n + n <= BigInt(size)) return 'safetensors';
  }
  // llama2.c v0 has no magic: accept a header whose seven fields describe a real model shape. The loader then checks
  // that the size matches, so a truncated v0 file gets "truncated" rather than "unknown format".
  if (head.length >= 28 && llama2cHeaderProblem(readLlama2cHeader(head, 0)) === undefined) return 'llama2c';
  return undefined;
}

function probe(path: string, length: number): Buffer {
  const b = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, b, done, length - done, done);
      if (n === 0) break;
      done += n;
    }
    return b.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
