// KV-cache precision (the --kv-cache toggle): how one KV head of one position is stored in the paged cache.
// The layouts (kernels/kv_cache.wgsl reads them, kernels/kv_store.wgsl writes them) are u32 words per head:
//   f32   HEAD_DIM words (the float bits)
//   f16   HEAD_DIM / 2 words, two halves each (even dimension low)
//   int8  HEAD_DIM / 4 words of four snorm bytes (x / absmax * 127, rounded), then absmax as f32 bits
// A decode step reads every cached position of every layer, so at long contexts and large batches these bytes,
// not the weights, bound the step: f16 halves them, int8 quarters them.
import { BenchError } from '../errors.ts';
import { floatToHalf, halfToFloat } from '../formats/quant.ts';

export const KV_CACHE_FORMATS = ['f32', 'f16', 'int8'] as const;
export type KvCacheFormat = (typeof KV_CACHE_FORMATS)[number];

/** The kernels' KV_FORMAT constant. */
export function kvFormatCode(format: KvCacheFormat): number {
  return KV_CACHE_FORMATS.indexOf(format);
}

/** u32 words one KV head of one position takes. */
export function kvHeadWords(format: KvCacheFormat, headDim: number): number {
  if (format === 'f16') return headDim / 2;
  if (format === 'int8') return headDim / 4 + 1;
  return headDim;
}

/** Bytes one position takes in one layer's K and V caches together. */
export function kvBytesPerPosition(format: KvCacheFormat, nKvHeads: number, headDim: number): number {
  return 2 * nKvHeads * kvHeadWords(format, headDim) * 4;
}

/** A format the model's head size cannot be stored in is an error that says what to use instead. */
export function checkKvFormat(format: KvCacheFormat, headDim: number): void {
  const unit = format === 'int8' ? 4 : format === 'f16' ? 2 : 1;
  if (headDim % unit !== 0) {
    throw new BenchError(
      'UNSUPPORTED',
      `--kv-cache ${format} needs a head dimension divisible by ${unit} (this model: ${headDim}): use --kv-cache f32`,
    );
  }
}

/** One head's values in the format's words, as kernels/kv_store.wgsl writes them (the CPU reference for tests). */
export function kvEncodeHead(format: KvCacheFormat, x: ArrayLike<number>): Uint32Array {
  const n = x.length;
  const words = new Uint32Array(kvHeadWords(format, n));
  if (format === 'f32') {
    new Float32Array(words.buffer).set(Array.from(x));
  } else if (format === 'f16') {
    for (let d = 0; d < n; d++) words[d >> 1]! |= floatToHalf(x[d]!) << ((d & 1) * 16);
  } else {
    let absmax = 0;
    for (let d = 0; d < n; d++) absmax = Math.max(absmax, Math.abs(Math.fround(x[d]!)));
    const inv = absmax > 0 ? Math.fround(1 / absmax) : 0;
    for (let d = 0; d < n; d++) {
      // pack4x8snorm: floor(0.5 + 127 * clamp(v, -1, 1)), two's complement in byte d % 4.
      const code = Math.floor(0.5 + 127 * Math.min(1, Math.max(-1, Math.fround(x[d]! * inv))));
      words[d >> 2]! |= (code & 0xff) << ((d & 3) * 8);
    }
    new Float32Array(words.buffer, (n / 4) * 4, 1)[0] = absmax;
  }
  return words;
}

/** What the attention kernels read back from a head's words (kernels/kv_cache.wgsl). */
export function kvDecodeHead(format: KvCacheFormat, words: Uint32Array, headDim: number): Float32Array {
  const out = new Float32Array(headDim);
  if (format === 'f32') return new Float32Array(words.buffer, words.byteOffset, headDim).slice();
  if (format === 'f16') {
    for (let d = 0; d < headDim; d++) out[d] = halfToFloat((words[d >> 1]! >>> ((d & 1) * 16)) & 0xffff);
    return out;
  }
  const absmax = new Float32Array(words.buffer, words.byteOffset + headDim, 1)[0]!;
  for (let d = 0; d < headDim; d++) {
    const byte = (words[d >> 2]! >>> ((d & 3) * 8)) & 0xff;
    out[d] = (Math.max((byte << 24) >> 24, -127) / 127) * absmax; // unpack4x8snorm: max(code / 127, -1)
  }
  return out;
}

/** The values a head holds after a trip through the cache. */
export function kvRoundTrip(format: KvCacheFormat, x: ArrayLike<number>): Float32Array {
  return kvDecodeHead(format, kvEncodeHead(format, x), x.length);
}

/**
 * Invocations of kernels/rope_kv.wgsl per token: a query pair each, then a cache word of k and v each (f32: one
 * dimension, f16: two), or for int8 a whole KV head each (its scale needs all of it).
 */
export function ropeKvInvocations(nHeads: number, headDim: number, nKvHeads: number, format: KvCacheFormat): number {
  const kvWords = format === 'int8' ? 1 : format === 'f16' ? headDim / 2 : headDim;
  return (nHeads * headDim) / 2 + nKvHeads * kvWords;
}
