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
