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

/** The CPU reference of one stored head: what the kernels read back for the values x (tests compare with it). */
export function kvRoundTrip(format: KvCacheFormat, x: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(x);
  if (format === 'f16') {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(floatToHalf(out[i]!));
  } else if (format === 'int8') {
    const absmax = Math.fround(out.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    for (let i = 0; i < out.length; i++) {
      const code = absmax > 0 ? Math.round(Math.min(1, Math.max(-1, out[i]! / absmax)) * 127) : 0;
      out[i] = (code / 127) * absmax;
    }
  }
  return out;
}
