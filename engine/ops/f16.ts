// Half-width float storage for linear-layer weights: f16 and bf16, two values per u32 word, computed in f32.
//
// Why two 16-bit values per u32 rather than an array<f16>: WGSL's f16 type needs the shader-f16 feature (NVIDIA hides
// it unless Dawn is told otherwise, many adapters lack it), while unpack2x16float and a 16-bit shift work on every
// adapter and read the same bytes. Decode is memory-bound, so halving the bytes read is what matters; the unpack is
// nearly free next to the load.
//
// The row layout shared by every packed format (f16, bf16, int8, int4): row n starts at word n * rowWords, values
// follow in k order from the low bits of each word up, and rowWords is rounded up to a multiple of 4 so that every
// row starts on a 16-byte boundary and the kernels can read whole vec4<u32> (8 f16 values, 16 int8, 32 int4) per
// load: wide, coalesced loads are what lets a matrix-vector product reach the memory bandwidth. The padding words are
// zero; the kernels also zero the x values past K, so padding never contributes (even for asymmetric int4, where a
// zero code does not decode to zero).
import { BenchError } from '../errors.ts';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../formats/quant.ts';
import type { PackedWeight, WeightFormat } from './weight-formats.ts';

/** Words are read four at a time (vec4<u32>), so every packed row is a whole number of 16-byte chunks. */
export const WORDS_PER_CHUNK = 4;

/** u32 words per packed row for `cols` values of `bitsPerValue` bits, padded to whole vec4<u32> chunks. */
export function packedRowWords(cols: number, bitsPerValue: number): number {
  const valuesPerChunk = (WORDS_PER_CHUNK * 32) / bitsPerValue;
  return Math.ceil(cols / valuesPerChunk) * WORDS_PER_CHUNK;
}

/** The vec4<u32> chunks per packed row: the kernels' STRIDE override constant. */
export const rowChunks = (rowWords: number): number => rowWords / WORDS_PER_CHUNK;

export function checkShape(values: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || values.length !== rows * cols) {
    throw new BenchError(
      'BAD_INPUT',
      `weight of ${values.length} values cannot be a [${rows}, ${cols}] matrix: pass rows (outputs) and cols (inputs) whose product is its length`,
    );
  }
}

/** A 16-bit float codec: f32 -> bits (round to nearest even) and bits -> f32. */
interface Half {
  name: 'f16' | 'bf16';
  encode: (v: number) => number;
  decode: (bits: number) => number;
}

const HALVES: Record<'f16' | 'bf16', Half> = {
  f16: { name: 'f16', encode: floatToHalf, decode: halfToFloat },
  bf16: { name: 'bf16', encode: floatToBf16, decode: bf16ToFloat },
};

function halfFormat(h: Half): WeightFormat {
  return {
    name: h.name,
    kernel: 'matmul_half', // one kernel for both: BF16 picks the decoding
    bindings: ['x', 'weights', 'y', 'counts', 'norm'],
    pack(values, rows, cols): PackedWeight {
      checkShape(values, rows, cols);
      const rowWords = packedRowWords(cols, 16);
      const words = new Uint32Array(rows * rowWords); // [rows, rowWords], zero padding
      for (let n = 0; n < rows; n++) {
        for (let k = 0; k < cols; k++) {
          const v = values[n * cols + k]!;
          const bits = h.encode(v);
          // f16 tops out at 65504: a larger weight would silently become infinity and poison every output.
          if (h.name === 'f16' && Number.isFinite(v) && (bits & 0x7c00) === 0x7c00) {
            throw new BenchError(
              'BAD_INPUT',
              `weight ${v} at [${n}, ${k}] overflows f16 (max 65504): use --precision bf16 or f32 for this model`,
            );
          }
          // Even k in the low half: unpack2x16float returns the low half as .x.
          words[n * rowWords + (k >> 1)]! |= bits << ((k & 1) * 16);
        }
      }
      return { format: h.name, rows, cols, rowWords, words };
    },
    dequantize(p) {
      const out = new Float32Array(p.rows * p.cols);
      for (let n = 0; n < p.rows; n++) {
        for (let k = 0; k < p.cols; k++) {
          out[n * p.cols + k] = h.decode(p.words[n * p.rowWords + (k >> 1)]! >>> ((k & 1) * 16));
        }
      }
      return out;
    },
    bytesPerMatvec: (rows, cols) => rows * packedRowWords(cols, 16) * 4,
    constants: (_rows, cols) => ({ STRIDE: rowChunks(packedRowWords(cols, 16)), BF16: h.name === 'bf16' ? 1 : 0 }),
  };
}

export const f16Format = (): WeightFormat => halfFormat(HALVES.f16);
export const bf16Format = (): WeightFormat => halfFormat(HALVES.bf16);
