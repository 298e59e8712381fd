// Integer weight formats, quantized on load from f32: int8 with one scale per output row, int4 with one scale (and,
// asymmetric, one minimum) per group of 32/64/128 consecutive inputs. Both keep f32 scales: they are few (one per
// row, or 1/8 to 1/32 of a byte per weight for int4 groups), exact, and read once per group, so smaller scales would
// buy little bandwidth and cost precision. Row layout (zero-padded vec4<u32> chunks, values in k order from the low
// bits up): see f16.ts.
import { BenchError } from '../errors.ts';
import { checkShape, packedRowWords, rowChunks } from './f16.ts';
import type { PackedWeight, WeightFormat } from './weight-formats.ts';

/** Bytes of `count` f32 scales. */
const f32Bytes = (count: number) => count * 4;

/**
 * int8, symmetric per output channel: scale = max|row| / 127, q = round(w / scale) in -127..127, w ~ q * scale.
 * Codes are the row's bytes in k order (byte i of a word is k = 4 * word + i), so a word is four int8 read with a
 * shift and an arithmetic shift back (sign extension, exact for every code; unpack4x8snorm would divide by 127 and
 * clamp -128). -128 is never produced, so the range is symmetric and |error| <= scale / 2. One scale per row lets the
 * kernel apply it once to the row's dot product instead of once per weight.
 */
export function int8Format(): WeightFormat {
  return {
    name: 'int8',
    kernel: 'matmul_int8',
    bindings: ['x', 'weights', 'y', 'counts', 'norm', 'scales'],
    pack(values, rows, cols): PackedWeight {
      checkShape(values, rows, cols);
      const rowWords = packedRowWords(cols, 8);
      const words = new Uint32Array(rows * rowWords); // [rows, rowWords]
      const bytes = new Int8Array(words.buffer);
      const scales = new Float32Array(rows); // [rows]
      for (let n = 0; n < rows; n++) {
        const row = values.subarray(n * cols, (n + 1) * cols);
        const scale = Math.fround(maxAbs(row) / 127);
        scales[n] = scale;
        if (scale === 0) continue; // an all-zero row: codes stay 0
        // Little-endian: byte 4j + i of the buffer is bits 8i..8i+7 of word j, i.e. k = 4j + i.
        for (let k = 0; k < cols; k++) bytes[n * rowWords * 4 + k] = clamp(Math.round(row[k]! / scale), -127, 127);
      }
      return { format: 'int8', rows, cols, rowWords, words, scales };
    },
    dequantize(p) {
      const bytes = new Int8Array(p.words.buffer, p.words.byteOffset, p.words.byteLength);
      const out = new Float32Array(p.rows * p.cols);
      for (let n = 0; n < p.rows; n++) {
        const scale = p.scales![n]!;
        for (let k = 0; k < p.cols; k++) out[n * p.cols + k] = bytes[n * p.rowWords * 4 + k]! * scale;
      }
      return out;
    },
    bytesPerMatvec: (rows, cols) => rows * packedRowWords(cols, 8) * 4 + f32Bytes(rows),
    constants: (_rows, cols) => ({ STRIDE: rowChunks(packedRowWords(cols, 8)) }),
    intDot: { chunk: 16, xWords: 1, stageX: 0 },
  };
}

export const INT4_GROUP_SIZES = [32, 64, 128] as const;
export type Int4GroupSize = (typeof INT4_GROUP_SIZES)[number];

/**
 * int4 in groups of `groupSize` consecutive inputs (a group is a whole number of 32-value vec4<u32> chunks, so the
 * kernel reads one scale per chunk), 8 codes per u32, k = 8 * word + i in bits 4i..4i+3 (low nibble first).
 * - symmetric: scale = max|group| / 7, q = round(w / scale) in -7..7 stored as q + 8 (1..15), w ~ q * scale. The
 *   code 0 (-8) is left unused so the range is symmetric and |error| <= scale / 2 for every weight (a -8..7 range
 *   would either clip +max or leave a scale that is not the one the bound is stated for). Scales: f32 [rows, groups].
 * - asymmetric: scale = (max - min) / 15, q = round((w - min) / scale) in 0..15, w ~ q * scale + min (ggml's Q4_1
 *   form: an f32 minimum rather than an integer zero point, so the group's minimum is exact and all 16 codes are
 *   used). Scales: f32 [rows, groups, 2] as (scale, min) pairs, one 8-byte read per group.
 * The kernel sums x * code over a chunk and applies the group's scale once: sum x*w = scale * sum x*q + min * sum x,
 * with min = -8 * scale for the symmetric form. The last group of a row may be shorter than groupSize (any K works).
 */
export function int4Format(groupSize: Int4GroupSize, symmetric: boolean): WeightFormat {
  const groupsPerRow = (cols: number) => Math.ceil(cols / groupSize);
  const perGroup = symmetric ? 1 : 2; // f32 values per group in the scales buffer
  const name = `int4-g${groupSize}${symmetric ? '' : '-asym'}`;
  return {
    name,
    kernel: 'matmul_int4',
    bindings: ['x', 'weights', 'y', 'counts', 'norm', 'scales'],
    pack(values, rows, cols): PackedWeight {
      checkShape(values, rows, cols);
      const rowWords = packedRowWords(cols, 4);
      const groups = groupsPerRow(cols);
      const words = new Uint32Array(rows * rowWords); // [rows, rowWords]
      const scales = new Float32Array(rows * groups * perGroup); // [rows, groups] or [rows, groups, 2]
      for (let n = 0; n < rows; n++) {
        for (let g = 0; g < groups; g++) {
          const k0 = g * groupSize;
          const group = values.subarray(n * cols + k0, n * cols + Math.min(k0 + groupSize, cols));
          const { scale, min } = symmetric ? symmetricScale(group) : asymmetricScale(group);
          scales[(n * groups + g) * perGroup] = scale;
          if (!symmetric) scales[(n * groups + g) * perGroup + 1] = min;
          for (let i = 0; i < group.length; i++) {
            let code = 8; // symmetric zero, for an all-zero group
            if (symmetric && scale !== 0) code = clamp(Math.round(group[i]! / scale), -7, 7) + 8;
            if (!symmetric) code = scale === 0 ? 0 : clamp(Math.round((group[i]! - min) / scale), 0, 15);
            const k = k0 + i;
            words[n * rowWords + (k >> 3)]! |= code << ((k & 7) * 4);
          }
        }
      }
      return { format: name, rows, cols, rowWords, words, scales, groupSize, symmetric };
    },
    dequantize(p) {
      const groups = groupsPerRow(p.cols);
      const out = new Float32Array(p.rows * p.cols);
      for (let n = 0; n < p.rows; n++) {
        for (let k = 0; k < p.cols; k++) {
          const code = (p.words[n * p.rowWords + (k >> 3)]! >>> ((k & 7) * 4)) & 15;
          const at = (n * groups + Math.floor(k / groupSize)) * perGroup;
          const scale = p.scales![at]!;
          out[n * p.cols + k] = symmetric ? (code - 8) * scale : code * scale + p.scales![at + 1]!;
        }
      }
      return out;
    },
    bytesPerMatvec: (rows, cols) => rows * (packedRowWords(cols, 4) * 4 + f32Bytes(groupsPerRow(cols) * perGroup)),
    constants: (_rows, cols) => ({
      STRIDE: rowChunks(packedRowWords(cols, 4)),
      GROUPS: groupsPerRow(cols),
      CHUNKS_PER_GROUP: groupSize / 32,
      ASYM: symmetric ? 0 : 1,
    }),
    intDot: { chunk: 32, xWords: 2, stageX: 2048 },
  };
}

export function checkGroupSize(groupSize: number): Int4GroupSize {
  if (!(INT4_GROUP_SIZES as readonly number[]).includes(groupSize)) {
    throw new BenchError(
      'BAD_INPUT',
      `int4 group size ${groupSize} is not supported: use --group-size ${INT4_GROUP_SIZES.join(', ')}`,
    );
  }
  return groupSize as Int4GroupSize;
}

function symmetricScale(group: Float32Array): { scale: number; min: number } {
  return { scale: Math.fround(maxAbs(group) / 7), min: 0 };
}

function asymmetricScale(group: Float32Array): { scale: number; min: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of group) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(hi - lo)) throw nonFinite();
  return { scale: Math.fround((hi - lo) / 15), min: lo };
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  if (!Number.isFinite(m)) throw nonFinite();
  return m;
}

const nonFinite = () =>
  new BenchError('BAD_INPUT', 'weights contain NaN or infinity and cannot be quantized: check the checkpoint');

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
