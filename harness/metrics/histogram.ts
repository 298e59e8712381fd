// Raw timings in HDR histograms (microseconds, 3 significant digits): fixed-size, mergeable across repeats and
// runs, and serialised compactly into results.json so reports and `bench compare` can redraw distributions.
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;
export const HISTOGRAM_NAMES = ['ttft', 'itl', 'tpot', 'e2e', 'dispatch'] as const;
export type HistogramName = (typeof HISTOGRAM_NAMES)[number];
export type HistogramSet = Record<HistogramName, Histogram>;
export type EncodedHistograms = Record<HistogramName, string>;

export function newHistogram(): Histogram {
  return hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true });
}

export function newHistogramSet(): HistogramSet {
  return {
    ttft: newHistogram(),
    itl: newHistogram(),
    tpot: newHistogram(),
    e2e: newHistogram(),
    dispatch: newHistogram(),
  };
}

/** Records a duration given in milliseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(0, Math.round(ms * 1000)));
}

export function encodeSet(set: HistogramSet): EncodedHistograms {
  return Object.fromEntries(
    HISTOGRAM_NAMES.map((n) => [n, hdr.encodeIntoCompressedBase64(set[n])]),
  ) as EncodedHistograms;
}

export function decode(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

export function mergeEncoded(encoded: readonly string[]): Histogram {
  const h = newHistogram();
  for (const e of encoded) h.add(decode(e));
  return h;
}

export interface Bucket {
  fromMs: number;
  toMs: number;
  count: number;
}

/** A histogram as `buckets` equal-width bars from its minimum to its p99.9; larger values go in the last bar. */
export function toBuckets(h: Histogram, buckets = 30): Bucket[] {
  if (h.totalCount === 0) return [];
  const lo = h.getValueAtPercentile(0);
  const hi = Math.max(lo + buckets, h.getValueAtPercentile(99.9));
  const width = (hi - lo) / buckets;
  const out: Bucket[] = Array.from({ length: buckets }, (_, i) => ({
    fromMs: (lo + i * width) / 1000,
    toMs: (lo + (i + 1) * width) / 1000,
    count: 0,
  }));
  const it = (h as hdr.JsHistogram).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    const i = Math.min(buckets - 1, Math.max(0, Math.floor((v.valueIteratedTo - lo) / width)));
    (out[i] as Bucket).count += v.countAtValueIteratedTo;
  }
  return out;
}
