// Index-addressable deterministic noise. Synthetic presets describe their big tensors as "element i is
// scale * noiseValue(seed, i)", so a GPU loader can generate them on the device (a WGSL port of these few u32
// operations) and still get bit-identical values to this CPU version: no state, no floating-point rounding
// before the final multiply, only u32 arithmetic.

/** PCG-RXS-M-XS 32-bit hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). u32 in, u32 out. */
export function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

// 2^-24 * 2: the top 24 bits of the hash map exactly onto f32-representable steps of 2^-23 in [-1, 1).
const STEP = 2 ** -23;

/** Noise value of element `i` (u32) of the stream `seed` (u32): k * 2^-23 - 1 for a 24-bit k, in [-1, 1). */
export function noiseValue(seed: number, i: number): number {
  const h = pcg((i ^ pcg(seed)) >>> 0);
  return (h >>> 8) * STEP - 1;
}

/**
 * out[j] = Math.fround(scale * noiseValue(seed, start + j)). Pass an f32 `scale` (Math.fround) when the same
 * tensor is generated on a GPU: the f64 product of two f32 values is exact, so rounding it once to f32 equals
 * the GPU's f32 multiply. The hash is inlined: this runs at a few hundred million values per second.
 */
export function fillNoise(seed: number, scale: number, out: Float32Array, start = 0): Float32Array {
  const ps = pcg(seed);
  const n = out.length;
  const k = scale * STEP;
  for (let j = 0; j < n; j++) {
    const s = (Math.imul(((start + j) ^ ps) >>> 0, 747796405) + 2891336453) >>> 0;
    const w = Math.imul((s >>> ((s >>> 28) + 4)) ^ s, 277803737) >>> 0;
    // (h >>> 8) * 2^-23 - 1, times scale: written as one product and a difference so the f64 result equals
    // scale * noiseValue exactly (both steps are exact in f64 for an f32 scale).
    out[j] = ((((w >>> 22) ^ w) >>> 8) - 8388608) * k;
  }
  return out;
}

/** out[offset + j]! += scale * noiseValue(seed, start + j) for j < n, in f64: builds structured rows from noise keys. */
export function addNoise(
  seed: number,
  scale: number,
  out: Float64Array,
  offset: number,
  start: number,
  n: number,
): void {
  const ps = pcg(seed);
  const k = scale * STEP;
  for (let j = 0; j < n; j++) {
    const s = (Math.imul(((start + j) ^ ps) >>> 0, 747796405) + 2891336453) >>> 0;
    const w = Math.imul((s >>> ((s >>> 28) + 4)) ^ s, 277803737) >>> 0;
    out[offset + j]! += ((((w >>> 22) ^ w) >>> 8) - 8388608) * k;
  }
}
